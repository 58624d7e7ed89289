import { useApi } from '../api.js';
import { Cost, DataTable, ErrorBox, Loading, Pager, Section, Status, Time, Tok } from '../components/common.js';
import { RangePicker, rangeQuery } from '../components/range.js';
import { count, duration, time, utc } from '../format.js';
import type { Location } from '../router.js';
import type { SessionDetail, SessionListRow, SessionTurn, SessionTurns, TelemetryEntry } from '../types.js';

const PAGE_SIZE = 50;
/** Model requests shown per page of a session. */
const REQUESTS_PAGE = 500;

/** The session id the collector put after the tool name (`claude-code-<id>`). */
function sessionIdOf(r: { id: string; agentType: string }): string {
  return r.id.startsWith(`${r.agentType}-`) ? r.id.slice(r.agentType.length + 1) : r.id;
}

/**
 * When a session ran, in one cell so the list fits a 1280 px screen: its start, then its last
 * request (the time of day alone when it is the same day; its title says how long after).
 */
function Ran({ start, last }: { start: number; last: number | null }) {
  if (last === null || last <= start) return <Time s={start} />;
  const end = time(last);
  return (
    <span>
      <Time s={start} /> →{' '}
      <time dateTime={utc(last)} title={`last request ${end}, ${duration((last - start) * 1000)} after the start`}>
        {end.slice(0, 10) === time(start).slice(0, 10) ? end.slice(11) : end}
      </time>
    </span>
  );
}

export function SessionsPage({ loc }: { loc: Location }) {
  const range = rangeQuery(loc);
  const offset = Number(loc.query.get('offset') ?? 0) || 0;
  const { data, error } = useApi<{ rows: SessionListRow[]; total: number }>(`sessions?limit=${PAGE_SIZE}&offset=${offset}${range ? `&${range}` : ''}`);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Coding-agent sessions</h1>
        <RangePicker loc={loc} />
      </div>
      <p class="muted small">Claude Code, Gemini CLI and Codex sessions received by <code>agentloupe collector</code> over OTLP: one row per session; select one to see its turns (one per user prompt) and model requests.</p>
      {error && <ErrorBox error={error} />}
      {!data ? (
        !error && <Loading what="sessions" />
      ) : (
        <>
          <DataTable<SessionListRow>
            testid="sessions-table"
            rows={data.rows}
            rowKey={(r) => r.id}
            rowHref={(r) => `/sessions/${encodeURIComponent(r.id)}`}
            empty="no coding-agent sessions yet: point Claude Code, Gemini CLI or Codex at agentloupe collector (see docs/ui.md)"
            columns={[
              { key: 'tool', label: 'tool', render: (r) => r.agentType },
              // Session ids are UUIDs: cut to the column (the whole id in the title and the link).
              { key: 'id', label: 'session', render: (r) => <span class="mono clip" title={sessionIdOf(r)}>{sessionIdOf(r)}</span> },
              { key: 'when', label: 'started → last request', render: (r) => <Ran start={r.startTime} last={r.usage.lastCall} /> },
              { key: 'prompts', label: 'prompts', num: true, render: (r) => count(r.events.prompts) },
              { key: 'turns', label: 'requests', num: true, render: (r) => count(r.usage.calls) },
              { key: 'in', label: 'input', num: true, render: (r) => <Tok n={r.usage.inputTokens} /> },
              { key: 'cache', label: 'cache read / write', num: true, render: (r) => <><Tok n={r.usage.cacheReadTokens} /> / <Tok n={r.usage.cacheCreationTokens} /></> },
              { key: 'out', label: 'output', num: true, render: (r) => <Tok n={r.usage.outputTokens} /> },
              { key: 'rs', label: 'reasoning', num: true, render: (r) => <Tok n={r.usage.reasoningTokens} /> },
              { key: 'cost', label: 'cost', num: true, render: (r) => <Cost usd={r.usage.costUsd} unpriced={r.usage.unpricedCalls} /> },
              { key: 'tools', label: 'tools', num: true, render: (r) => count(r.usage.toolCalls + r.events.toolCalls) },
              { key: 'err', label: 'errors', num: true, render: (r) => count(r.usage.partialCalls + (r.status === 'failed' ? 1 : 0) + r.events.toolErrors + r.events.apiErrors) },
            ]}
          />
          {data.total > PAGE_SIZE && (
            <Pager loc={loc} offset={offset} size={PAGE_SIZE} total={data.total} />
          )}
        </>
      )}
    </div>
  );
}

function sum(turns: SessionTurn[], of: (t: SessionTurn) => number): number {
  return turns.reduce((n, t) => n + of(t), 0);
}

/** "Bash ×2, Edit (1 failed)": a turn's tools as text. */
function toolsText(t: SessionTurn): string {
  return t.tools.map((x) => `${x.name}${x.calls > 1 ? ` ×${x.calls}` : ''}${x.errors > 0 ? ` (${x.errors} failed)` : ''}`).join(', ');
}

/** The session's turns: one row per user prompt (src/store/session-queries.ts). */
function TurnsTable({ data }: { data: SessionTurns }) {
  return (
    <DataTable<SessionTurn>
      testid="session-turns-table"
      rows={data.turns}
      rowKey={(t) => String(t.index)}
      empty="no user prompts or model requests received for this session yet"
      columns={[
        { key: 'n', label: 'turn', num: true, render: (t) => t.index },
        { key: 't', label: 'started', render: (t) => <Time s={t.start} /> },
        { key: 'p', label: 'prompt', render: (t) => (t.prompted ? (t.promptLength !== null ? `${count(t.promptLength)} chars` : 'received') : <span class="muted" title="no user prompt event was received before these events">none received</span>) },
        { key: 'calls', label: 'requests', num: true, render: (t) => count(t.calls) },
        { key: 'in', label: 'input', num: true, render: (t) => count(t.inputTokens) },
        { key: 'cr', label: 'cache read', num: true, render: (t) => count(t.cacheReadTokens) },
        { key: 'cw', label: 'cache write', num: true, render: (t) => count(t.cacheCreationTokens) },
        { key: 'out', label: 'output', num: true, render: (t) => count(t.outputTokens) },
        { key: 'rs', label: 'reasoning', num: true, render: (t) => count(t.reasoningTokens) },
        { key: 'cost', label: 'cost', num: true, render: (t) => <Cost usd={t.costUsd} unpriced={t.unpricedCalls} /> },
        { key: 'tools', label: 'tool calls', num: true, render: (t) => <span title={toolsText(t)}>{count(t.toolCalls)}</span> },
        { key: 'err', label: 'errors', num: true, render: (t) => <span title={`${t.toolErrors} failed tool call(s), ${t.apiErrors} API error(s)`}>{count(t.toolErrors + t.apiErrors)}</span> },
        { key: 'd', label: 'duration', num: true, render: (t) => duration(t.durationMs) },
        { key: 'which', label: 'tools', render: (t) => <span class="small clip" title={toolsText(t)}>{toolsText(t)}</span> },
      ]}
    />
  );
}

export function SessionPage({ id, loc }: { id: string; loc: Location }) {
  const offset = Number(loc.query.get('offset') ?? 0) || 0;
  const { data, error } = useApi<SessionDetail>(`sessions/${encodeURIComponent(id)}?limit=${REQUESTS_PAGE}&offset=${offset}`);
  const turns = useApi<SessionTurns>(`sessions/${encodeURIComponent(id)}/turns`);
  if (error) return <div class="page"><h1>Session</h1><ErrorBox error={error} /></div>;
  if (!data) return <div class="page"><h1>Session</h1><Loading what="session" /></div>;
  const s = data.session;
  const u = data.usage;
  const numbers = new Map(data.turns.map((t, i) => [t, i]));
  return (
    <div class="page">
      <div class="page-head">
        <h1>
          {s.agentType} session <span class="mono">{sessionIdOf(s)}</span>
        </h1>
        <a href="/sessions">all sessions →</a>
      </div>
      <div class="kpis" data-testid="session-totals">
        <div class="kpi"><div class="kpi-label">requests</div><div class="kpi-value">{count(u?.calls ?? 0)}</div></div>
        <div class="kpi"><div class="kpi-label">tokens</div><div class="kpi-value"><Tok n={u?.totalTokens ?? 0} /></div><div class="kpi-sub">{count(u?.inputTokens ?? 0)} in · {count(u?.outputTokens ?? 0)} out</div></div>
        <div class="kpi" data-testid="session-cost"><div class="kpi-label">cost</div><div class="kpi-value"><Cost usd={u?.costUsd ?? 0} unpriced={u?.unpricedCalls ?? 0} /></div></div>
        {turns.data && (
          <div class="kpi" data-testid="session-turn-totals">
            <div class="kpi-label">turns</div>
            <div class="kpi-value">{count(turns.data.turns.length)}</div>
            <div class="kpi-sub">
              {count(sum(turns.data.turns, (t) => t.toolCalls))} tool calls · {count(sum(turns.data.turns, (t) => t.toolErrors + t.apiErrors))} errors
            </div>
          </div>
        )}
        <div class="kpi"><div class="kpi-label">status</div><div class="kpi-value"><Status status={s.status} /></div><div class="kpi-sub">started <Time s={s.startTime} /></div></div>
      </div>
      <Section title="Turns (one per user prompt)">
        {turns.error && <ErrorBox error={turns.error} />}
        {!turns.data ? !turns.error && <Loading what="turns" /> : <TurnsTable data={turns.data} />}
        {turns.data?.truncated && <p class="muted small">This session has more events than one page reads; the latest are not shown.</p>}
      </Section>
      <Section title="Model requests">
        <DataTable<TelemetryEntry>
          testid="requests-table"
          rows={data.turns}
          rowKey={(t) => String(t.id)}
          columns={[
            { key: 'n', label: '#', num: true, render: (t) => count(data.offset + (numbers.get(t) ?? 0) + 1) },
            { key: 't', label: 'time', render: (t) => <Time s={t.timestamp} /> },
            { key: 'm', label: 'model / tool', render: (t) => t.toolName ?? t.model ?? '-' },
            { key: 'in', label: 'input', num: true, render: (t) => count(t.inputTokens) },
            { key: 'cr', label: 'cache read', num: true, render: (t) => count(t.cacheReadTokens) },
            { key: 'cw', label: 'cache write', num: true, render: (t) => count(t.cacheCreationTokens) },
            { key: 'out', label: 'output', num: true, render: (t) => count(t.outputTokens) },
            { key: 'rs', label: 'reasoning', num: true, render: (t) => count(t.reasoningTokens) },
            { key: 'cost', label: 'cost', num: true, render: (t) => <Cost usd={t.estimatedCost} unpriced={t.unpriced ? 1 : 0} /> },
            { key: 'd', label: 'duration', num: true, render: (t) => duration(t.durationMs) },
            { key: 'p', label: 'partial', render: (t) => (t.partial ? 'yes' : '') },
          ]}
        />
        {data.total > data.turns.length && <Pager loc={loc} offset={data.offset} size={REQUESTS_PAGE} total={data.total} />}
      </Section>
    </div>
  );
}
