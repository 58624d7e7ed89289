import { useApi } from '../api.js';
import { Chart } from '../components/chart.js';
import { Cost as CostText, DataTable, ErrorBox, Loading, Section, Tok } from '../components/common.js';
import { RangePicker, rangeQuery } from '../components/range.js';
import { count, usd } from '../format.js';
import { href, navigate, withQuery, type Location } from '../router.js';
import type { CostData, SummaryRow } from '../types.js';

const GROUPS = ['model', 'provider', 'agent', 'type', 'plan', 'day'];

export function CostPage({ loc }: { loc: Location }) {
  const by = GROUPS.includes(loc.query.get('by') ?? '') ? loc.query.get('by')! : 'model';
  const range = rangeQuery(loc);
  const { data, error } = useApi<CostData>(`cost?by=${by}${range ? `&${range}` : ''}`);
  const rows = data?.rows ?? [];
  const chartRows = by === 'day' ? rows : rows.slice(0, 20);
  const link = (r: SummaryRow): string | undefined => {
    if (r.key === null) return undefined;
    if (by === 'plan') return `/plan/${encodeURIComponent(r.key)}`;
    if (by === 'type') return href('/runs', { type: r.key });
    if (by === 'agent') return href('/runs', { name: r.key });
    return undefined;
  };
  const line = (key: string, r: Omit<SummaryRow, 'key'>, testid?: string) => (
    <tr data-testid={testid} class="total">
      <td>{key}</td>
      <td class="num" data-testid={testid && `${testid}-calls`}>{count(r.calls)}</td>
      <td class="num" data-testid={testid && `${testid}-input`}><Tok n={r.inputTokens} /></td>
      <td class="num"><Tok n={r.cacheReadTokens} /></td>
      <td class="num"><Tok n={r.cacheCreationTokens} /></td>
      <td class="num" data-testid={testid && `${testid}-output`}><Tok n={r.outputTokens} /></td>
      <td class="num" data-testid={testid && `${testid}-tokens`}><Tok n={r.totalTokens} /></td>
      <td class="num" data-testid={testid && `${testid}-cost`}><CostText usd={r.costUsd} unpriced={r.unpricedCalls} /></td>
    </tr>
  );
  return (
    <div class="page">
      <div class="page-head">
        <h1>Cost</h1>
        <RangePicker loc={loc} />
      </div>
      <div class="tabs" role="tablist" aria-label="group by">
        {GROUPS.map((g) => (
          <button key={g} type="button" role="tab" aria-selected={g === by} class={g === by ? 'on' : undefined} onClick={() => navigate(withQuery(loc, { by: g }))}>
            by {g}
          </button>
        ))}
      </div>
      {error && <ErrorBox error={error} />}
      {!data ? (
        !error && <Loading what="cost" />
      ) : (
        <>
          <Section title={`Cost by ${by}`}>
            <Chart
              testid="chart-cost-groups"
              x={by === 'day' ? chartRows.map((r) => Date.parse(`${r.key}T00:00:00Z`) / 1000) : chartRows.map((_r, i) => i)}
              labels={by === 'day' ? undefined : chartRows.map((r) => r.key ?? '(none)')}
              step={by === 'day' ? 86_400 : undefined}
              yFormat={(v) => usd(v)}
              series={[{ label: 'cost', color: '#76b7b2', bars: true, values: chartRows.map((r) => r.costUsd), format: (v) => usd(v) }]}
            />
          </Section>
          <Section title="Table" actions={<span class="muted small">same numbers as agentloupe cost --by {by}{loc.query.get('since') ? ` --since ${loc.query.get('since')}` : ''}{loc.query.get('until') ? ` --until ${loc.query.get('until')}` : ''} --json</span>}>
            <DataTable<SummaryRow>
              testid="cost-table"
              rows={rows}
              rowKey={(r) => String(r.key)}
              rowHref={link}
              empty="no model calls recorded in this range"
              columns={[
                { key: 'k', label: by, render: (r) => r.key ?? <span class="muted">(none)</span> },
                { key: 'calls', label: 'calls', num: true, render: (r) => count(r.calls) },
                { key: 'in', label: 'input', num: true, render: (r) => <Tok n={r.inputTokens} /> },
                { key: 'cr', label: 'cache read', num: true, render: (r) => <Tok n={r.cacheReadTokens} /> },
                { key: 'cw', label: 'cache write', num: true, render: (r) => <Tok n={r.cacheCreationTokens} /> },
                { key: 'out', label: 'output', num: true, render: (r) => <Tok n={r.outputTokens} /> },
                { key: 'tot', label: 'total', num: true, render: (r) => <Tok n={r.totalTokens} /> },
                { key: 'cost', label: 'cost', num: true, render: (r) => <CostText usd={r.costUsd} unpriced={r.unpricedCalls} /> },
              ]}
              footer={<tfoot>{line('total', data.total, 'cost-total')}</tfoot>}
            />
            <p class="muted small" data-testid="cost-exact" data-cost={String(data.total.costUsd)} data-tokens={String(data.total.totalTokens)} data-calls={String(data.total.calls)}>
              {count(data.total.calls)} model calls · {count(data.total.totalTokens)} tokens
              {data.total.unpricedCalls > 0 ? ` · ${count(data.total.unpricedCalls)} unpriced calls are not in the cost (no known price)` : ''}
            </p>
          </Section>
        </>
      )}
    </div>
  );
}
