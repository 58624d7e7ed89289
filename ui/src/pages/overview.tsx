import { useApi } from '../api.js';
import { Chart } from '../components/chart.js';
import { Cost, DataTable, Dur, ErrorBox, Kpi, Loading, Section, Status, Time, Tok } from '../components/common.js';
import { RangePicker, rangeQuery } from '../components/range.js';
import { count, duration, percent, tokens, usd } from '../format.js';
import { useNow } from '../live.js';
import { href, type Location } from '../router.js';
import type { AgentRecord, CostData, Overview, SummaryRow, Timeline } from '../types.js';

export const TOKEN_COLORS = { input: '#4e79a7', output: '#f28e2b', cacheRead: '#59a14f', cacheCreation: '#b07aa1', reasoning: '#e15759' };

function GroupTable({ title, by, range, link }: { title: string; by: string; range: string; link?: (key: string) => string }) {
  const { data, error } = useApi<CostData>(`cost?by=${by}${range ? `&${range}` : ''}`);
  return (
    <Section title={title} actions={<a href={href('/cost', { by, ...Object.fromEntries(new URLSearchParams(range)) })}>all →</a>}>
      {error ? (
        <ErrorBox error={error} />
      ) : !data ? (
        <Loading what={title} />
      ) : (
        <DataTable<SummaryRow>
          rows={data.rows.slice(0, 8)}
          rowKey={(r) => String(r.key)}
          rowHref={link ? (r) => (r.key ? link(r.key) : undefined) : undefined}
          empty="no model calls in this range"
          columns={[
            { key: 'k', label: by, render: (r) => r.key ?? <span class="muted">(none)</span> },
            { key: 'calls', label: 'calls', num: true, render: (r) => count(r.calls) },
            { key: 'tok', label: 'tokens', num: true, render: (r) => <Tok n={r.totalTokens} /> },
            { key: 'cost', label: 'cost', num: true, render: (r) => <Cost usd={r.costUsd} unpriced={r.unpricedCalls} /> },
          ]}
        />
      )}
    </Section>
  );
}

export function Elapsed({ agent }: { agent: AgentRecord }) {
  const now = useNow();
  if (agent.durationMs !== null) return <Dur ms={agent.durationMs} />;
  return <span class="ticking">{duration(Math.max(0, now - agent.startTime * 1000))}</span>;
}

export function OverviewPage({ loc }: { loc: Location }) {
  const range = rangeQuery(loc);
  const ov = useApi<Overview>(`overview${range ? `?${range}` : ''}`);
  const tl = useApi<Timeline>(`timeline${range ? `?${range}` : ''}`);
  const s = ov.data?.stats;
  const points = tl.data?.points ?? [];
  const x = points.map((p) => p.t);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Overview</h1>
        <RangePicker loc={loc} />
      </div>
      {ov.error && <ErrorBox error={ov.error} />}
      {!s ? (
        !ov.error && <Loading what="overview" />
      ) : (
        <div class="kpis">
          <Kpi label="runs" testid="kpi-runs" value={count(s.agents.total)} sub={`${count((s.agents.byStatus.running ?? 0) + (s.agents.byStatus.starting ?? 0))} running · ${percent(s.agents.failureRate)} failed`} />
          <Kpi label="tokens" testid="kpi-tokens" value={<Tok n={s.tokens.total} />} sub={`${tokens(s.tokens.input)} in · ${tokens(s.tokens.output)} out · ${tokens(s.tokens.cacheRead)} cache read`} />
          <Kpi label="cost" testid="kpi-cost" value={<Cost usd={s.cost.totalUsd} unpriced={s.cost.unpricedCalls} />} sub={`${count(s.cost.pricedCalls)} priced calls${s.cost.unpricedCalls ? ` · ${count(s.cost.unpricedCalls)} unpriced` : ''}`} />
          <Kpi label="tool calls" value={count(s.toolCalls)} />
          <Kpi
            label="run duration"
            value={duration(s.durationMs.p50)}
            sub={`p50 · p95 ${duration(s.durationMs.p95)} · p99 ${duration(s.durationMs.p99)}${s.durationMs.sampleSize !== undefined ? ` · from a sample of ${count(s.durationMs.sampleSize)} runs` : ''}`}
          />
        </div>
      )}
      <div class="grid2">
        <Section title={`Tokens by type${tl.data ? ` per ${tl.data.bucket}` : ''}`}>
          {tl.error ? (
            <ErrorBox error={tl.error} />
          ) : (
            <Chart
              testid="chart-tokens"
              x={x}
              step={tl.data?.bucket === 'day' ? 86_400 : 3_600}
              yFormat={(v) => tokens(v)}
              series={[
                { label: 'input', color: TOKEN_COLORS.input, values: points.map((p) => p.inputTokens), format: tokens },
                { label: 'output', color: TOKEN_COLORS.output, values: points.map((p) => p.outputTokens), format: tokens },
                { label: 'cache read', color: TOKEN_COLORS.cacheRead, values: points.map((p) => p.cacheReadTokens), format: tokens },
                { label: 'cache write', color: TOKEN_COLORS.cacheCreation, values: points.map((p) => p.cacheCreationTokens), format: tokens },
                { label: 'reasoning', color: TOKEN_COLORS.reasoning, values: points.map((p) => p.reasoningTokens), format: tokens },
              ]}
            />
          )}
        </Section>
        <Section title={`Cost${tl.data ? ` per ${tl.data.bucket}` : ''}`}>
          <Chart
            testid="chart-cost"
            x={x}
            step={tl.data?.bucket === 'day' ? 86_400 : 3_600}
            yFormat={(v) => usd(v)}
            series={[{ label: 'cost', color: '#76b7b2', bars: true, values: points.map((p) => p.costUsd), format: (v) => usd(v) }]}
          />
          {points.some((p) => p.unpricedCalls > 0) && <p class="note">{count(points.reduce((n, p) => n + p.unpricedCalls, 0))} call(s) had no known price: they are not in these bars (unpriced, not $0).</p>}
        </Section>
      </div>
      <div class="grid4">
        <GroupTable title="By model" by="model" range={range} />
        <GroupTable title="By provider" by="provider" range={range} />
        <GroupTable title="By agent type" by="type" range={range} link={(k) => href('/runs', { type: k })} />
        <GroupTable title="By plan" by="plan" range={range} link={(k) => `/plan/${encodeURIComponent(k)}`} />
      </div>
      <div class="grid3">
        <Section title="Runs by status">
          {s && (
            <ul class="bars" data-testid="runs-by-status">
              {Object.entries(s.agents.byStatus).map(([status, n]) => (
                <li key={status}>
                  <a href={href('/runs', { status })}>
                    <Status status={status} />
                  </a>
                  <span class="bar">
                    <span class={`fill status-bg-${status}`} style={{ width: `${s.agents.total ? (100 * n) / s.agents.total : 0}%` }} />
                  </span>
                  <span class="num">{count(n)}</span>
                </li>
              ))}
            </ul>
          )}
        </Section>
        <Section title="Active agents" actions={<a href="/live">live →</a>}>
          {ov.data && (
            <DataTable<AgentRecord>
              testid="active-agents"
              rows={ov.data.active.slice(0, 10)}
              rowKey={(a) => a.id}
              rowHref={(a) => `/run/${encodeURIComponent(a.id)}`}
              empty="no agent is running"
              columns={[
                { key: 'name', label: 'agent', render: (a) => a.name },
                { key: 'status', label: 'status', render: (a) => <Status status={a.status} /> },
                { key: 'el', label: 'elapsed', num: true, render: (a) => <Elapsed agent={a} /> },
              ]}
            />
          )}
        </Section>
        <Section title="Health" actions={<a href="/health">details →</a>}>
          {ov.data && (
            <dl class="facts" data-testid="health-summary">
              <dt>components</dt>
              <dd>{Object.keys(ov.data.health.components).length === 0 ? <span class="muted">none recorded</span> : Object.entries(ov.data.health.components).map(([k, n]) => <span key={k} class="chip"><Status status={k} /> {n}</span>)}</dd>
              <dt>workers</dt>
              <dd>
                {Object.entries(ov.data.health.workers).map(([k, n]) => (
                  <span key={k} class="chip">
                    <Status status={k} /> {n}
                  </span>
                ))}
              </dd>
              <dt>zombie agents</dt>
              <dd>{ov.data.health.zombies}</dd>
              <dt>alerts (24h)</dt>
              <dd>{ov.data.health.alerts24h}</dd>
            </dl>
          )}
        </Section>
      </div>
      {s && s.cost.unpricedCalls > 0 && <p class="note">Unpriced calls (models with no known price) are counted apart and never shown as $0. Set prices with AGENTLOUPE_PRICING.</p>}
      <p class="muted small">
        Times are local; hover one for UTC. <Time s={Math.floor(Date.now() / 1000)} />
      </p>
    </div>
  );
}
