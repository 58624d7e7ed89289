import { useApi } from '../api.js';
import { Cost, ErrorBox, Loading, Section, Status, Time, Tok } from '../components/common.js';
import { SpanDetail } from '../components/span-detail.js';
import { AgentTree } from '../components/tree.js';
import { Waterfall } from '../components/waterfall.js';
import { count, duration } from '../format.js';
import { navigate, withQuery, type Location } from '../router.js';
import type { TreeNode, ViewData } from '../types.js';
import { rowsFromAgents, rowsFromSpans } from '../waterfall-model.js';

export type ViewKind = 'plan' | 'trace' | 'run';

function totals(roots: TreeNode[]) {
  const t = { agents: 0, tokens: 0, cost: 0, unpriced: 0, failed: 0, running: 0, start: Infinity, end: -Infinity, open: false };
  const walk = (n: TreeNode): void => {
    const a = n.agent;
    if (a.status === 'failed' || a.status === 'terminated') t.failed++;
    if (a.status === 'running' || a.status === 'starting') (t.running++, (t.open = true));
    t.start = Math.min(t.start, a.startTime * 1000);
    if (a.durationMs !== null) t.end = Math.max(t.end, a.startTime * 1000 + a.durationMs);
    n.children.forEach(walk);
  };
  for (const r of roots) {
    t.agents += r.subtree.agents;
    t.tokens += r.subtree.tokens;
    t.cost += r.subtree.costUsd;
    t.unpriced += r.subtree.unpricedCalls;
    walk(r);
  }
  return t;
}

export function TracePage({ loc, kind, id }: { loc: Location; kind: ViewKind; id: string }) {
  const param = kind === 'plan' ? 'plan' : kind === 'trace' ? 'trace' : 'agent';
  const view = useApi<ViewData>(`view?${param}=${encodeURIComponent(id)}`);
  const selected = loc.query.get('span') ?? undefined;
  const select = (spanId: string): void => navigate(withQuery(loc, { span: spanId }), { replace: true });
  const title = kind === 'plan' ? `Plan ${id}` : kind === 'trace' ? `Trace ${id}` : 'Run';
  if (view.error) {
    return (
      <div class="page">
        <h1>{title}</h1>
        <ErrorBox error={view.error} />
      </div>
    );
  }
  const data = view.data;
  if (!data) {
    return (
      <div class="page">
        <h1>{title}</h1>
        <Loading what={title.toLowerCase()} />
      </div>
    );
  }
  const rows = data.spans.length > 0 ? rowsFromSpans(data.spans, data.calls) : rowsFromAgents(data.tree, data.calls, Date.now());
  const sel = rows.find((r) => r.id === selected) ?? rows.find((r) => r.kind === 'model') ?? rows[0];
  const t = totals(data.tree);
  const root = data.tree[0]?.agent;
  const agentRow = (agentId: string): string | undefined => rows.find((r) => r.kind === 'agent' && r.agentId === agentId)?.id;
  return (
    <div class="page">
      <div class="page-head">
        <h1>
          {title}
          {kind === 'run' && root ? <span class="name">: {root.name}</span> : null}
        </h1>
        {root?.planId && kind !== 'plan' && <a href={`/plan/${encodeURIComponent(root.planId)}`}>plan {root.planId} →</a>}
      </div>
      <div class="kpis" data-testid="view-totals">
        <div class="kpi">
          <div class="kpi-label">agents</div>
          <div class="kpi-value">{count(t.agents)}</div>
          <div class="kpi-sub">
            {t.failed > 0 ? <Status status="failed" /> : null} {t.failed > 0 ? `${t.failed} failed` : ''} {t.running > 0 ? `${t.running} running` : ''}
          </div>
        </div>
        <div class="kpi">
          <div class="kpi-label">tokens</div>
          <div class="kpi-value">
            <Tok n={t.tokens} />
          </div>
        </div>
        <div class="kpi">
          <div class="kpi-label">cost</div>
          <div class="kpi-value">
            <Cost usd={t.cost} unpriced={t.unpriced} />
          </div>
        </div>
        <div class="kpi">
          <div class="kpi-label">duration</div>
          <div class="kpi-value">{t.open ? 'running' : Number.isFinite(t.end) ? duration(t.end - t.start) : '-'}</div>
          <div class="kpi-sub">{Number.isFinite(t.start) ? <Time s={t.start / 1000} /> : null}</div>
        </div>
        <div class="kpi">
          <div class="kpi-label">spans</div>
          <div class="kpi-value">{count(data.spans.length)}</div>
          <div class="kpi-sub">{count(data.calls.length)} calls</div>
        </div>
      </div>
      {data.truncated && <p class="note">This view is cut to the first spans and calls; narrow it with a run or a trace.</p>}
      <div class="trace-layout">
        <Section title="Agents" class="tree-card">
          <AgentTree roots={data.tree} selected={sel?.agentId ?? undefined} onSelect={(agentId) => select(agentRow(agentId) ?? `agent:${agentId}`)} />
        </Section>
        <Section title="Waterfall" class="wf-card">
          <Waterfall rows={rows} selected={sel?.id} onSelect={select} />
        </Section>
      </div>
      {sel && (
        <section class="card">
          <SpanDetail row={sel} prices={data.prices} />
        </section>
      )}
    </div>
  );
}
