import { useMemo } from 'preact/hooks';
import { useApi } from '../api.js';
import { Cost, DataTable, ErrorBox, Loading, Pager, Status, Time, Tok } from '../components/common.js';
import { count } from '../format.js';
import { navigate, withQuery, type Location } from '../router.js';
import type { RunPage, RunRow } from '../types.js';
import { Elapsed } from './overview.js';

const STATUSES = ['starting', 'running', 'completed', 'failed', 'terminated'];
const PAGE_SIZE = 50;
const FILTERS = ['status', 'type', 'name', 'plan', 'since', 'until', 'q', 'sort', 'dir', 'offset'];

export function RunsPage({ loc }: { loc: Location }) {
  const params = new URLSearchParams();
  for (const k of FILTERS) {
    const v = loc.query.get(k);
    if (v) params.set(k, v);
  }
  params.set('limit', String(PAGE_SIZE));
  const page = useApi<RunPage>(`runs?${params}`);
  const types = useApi<string[]>('agent-types');
  const statuses = (loc.query.get('status') ?? '').split(',').filter(Boolean);
  const sort = loc.query.get('sort') ?? 'start';
  const dir = (loc.query.get('dir') ?? 'desc') as 'asc' | 'desc';
  const offset = Number(loc.query.get('offset') ?? 0) || 0;
  const set = (changes: Record<string, string | string[] | undefined>): void => navigate(withQuery(loc, { ...changes, offset: undefined }), { replace: false });
  const toggleStatus = (s: string): void => set({ status: statuses.includes(s) ? statuses.filter((x) => x !== s) : [...statuses, s] });
  const data = page.data;
  // The same element while the rows and the address stay the same, so another answer (the agent
  // types, arriving just after the rows) does not render the 50 rows a second time.
  const table = useMemo(
    () =>
      data && (
        <DataTable<RunRow>
          testid="runs-table"
          rows={data.rows}
          rowKey={(r) => r.id}
          rowHref={(r) => `/run/${encodeURIComponent(r.id)}`}
          sort={sort}
          dir={dir}
          onSort={(key) => set({ sort: key, dir: sort === key && dir === 'desc' ? 'asc' : 'desc' })}
          empty="no runs match these filters"
          columns={[
            { key: 'start', label: 'started', sort: 'start', render: (r) => <Time s={r.startTime} /> },
            { key: 'name', label: 'name', sort: 'name', render: (r) => <span class="name">{r.name}</span> },
            { key: 'type', label: 'type', sort: 'type', render: (r) => r.agentType },
            { key: 'status', label: 'status', sort: 'status', render: (r) => <Status status={r.status} /> },
            { key: 'plan', label: 'plan', sort: 'plan', render: (r) => (r.planId ? <a href={`/plan/${encodeURIComponent(r.planId)}`}>{r.planId}</a> : <span class="muted">-</span>) },
            { key: 'dur', label: 'duration', sort: 'duration', num: true, render: (r) => <Elapsed agent={r} /> },
            { key: 'calls', label: 'calls', num: true, render: (r) => count(r.usage.calls) },
            { key: 'tools', label: 'tools', num: true, render: (r) => count(r.usage.toolCalls) },
            { key: 'tok', label: 'tokens', num: true, render: (r) => <Tok n={r.usage.totalTokens} /> },
            { key: 'cost', label: 'cost', num: true, render: (r) => <Cost usd={r.usage.costUsd} unpriced={r.usage.unpricedCalls} /> },
            { key: 'err', label: 'error', render: (r) => (r.errorMessage ? <span class="err-text" title={r.errorMessage}>{r.errorMessage}</span> : '') },
          ]}
        />
      ),
    [data, loc],
  );
  return (
    <div class="page">
      <div class="page-head">
        <h1>Runs</h1>
        {data && <span class="muted" data-testid="runs-total">{count(data.total)} runs</span>}
      </div>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const get = (k: string): string | undefined => String(f.get(k) ?? '').trim() || undefined;
          set({ q: get('q'), name: get('name'), plan: get('plan'), since: get('since'), until: get('until'), type: get('type') });
        }}
      >
        <fieldset class="status-filter">
          <legend>status</legend>
          {STATUSES.map((s) => (
            <label key={s} class="check">
              <input type="checkbox" checked={statuses.includes(s)} onChange={() => toggleStatus(s)} /> <Status status={s} />
            </label>
          ))}
        </fieldset>
        <label>
          type
          <select name="type" value={loc.query.get('type') ?? ''} onChange={(e) => set({ type: e.currentTarget.value || undefined })}>
            <option value="">any</option>
            {(types.data ?? []).map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          name <input name="name" size={12} value={loc.query.get('name') ?? ''} />
        </label>
        <label>
          plan <input name="plan" size={14} value={loc.query.get('plan') ?? ''} />
        </label>
        <label>
          since <input name="since" size={10} placeholder="24h, 2026-11-01" value={loc.query.get('since') ?? ''} />
        </label>
        <label>
          until <input name="until" size={10} value={loc.query.get('until') ?? ''} />
        </label>
        <label class="grow">
          search <input name="q" type="search" placeholder="id, name, type, plan, error" value={loc.query.get('q') ?? ''} />
        </label>
        <button type="submit">filter</button>
        <a class="button-link" href="/runs">clear</a>
      </form>
      {page.error && <ErrorBox error={page.error} />}
      {!data ? (
        !page.error && <Loading what="runs" />
      ) : (
        <>
          {table}
          <Pager loc={loc} offset={offset} size={PAGE_SIZE} total={data.total} />
        </>
      )}
    </div>
  );
}
