import type { ComponentChildren, TargetedKeyboardEvent } from 'preact';
import { useRef } from 'preact/hooks';
import { count, duration, time, tokens, usd, utc } from '../format.js';
import { navigate, withQuery, type Location } from '../router.js';

/** A local time; UTC on hover. */
export function Time({ s }: { s: number | null | undefined }) {
  if (s === null || s === undefined) return <span class="muted">-</span>;
  return (
    <time dateTime={utc(s)} title={`${utc(s)} (UTC)`}>
      {time(s)}
    </time>
  );
}

export function Status({ status }: { status: string }) {
  return <span class={`status status-${status}`}>{status}</span>;
}

/**
 * Cost as the CLI writes it ("$0.104 +1 unpriced"); calls with no known price say "unpriced",
 * never $0. The unpriced part is its own element so tight places can put it on a second line.
 */
export function Cost({ usd: n, unpriced = 0 }: { usd: number | null | undefined; unpriced?: number }) {
  const text = usd(n, unpriced);
  const cut = text.indexOf(' +');
  const title = unpriced > 0 ? `${unpriced} call(s) with no known price are not in this figure` : undefined;
  if (cut < 0) return <span class={unpriced > 0 ? 'cost has-unpriced' : 'cost'} title={title}>{text}</span>;
  return (
    <span class="cost" title={title}>
      {text.slice(0, cut)}
      <span class="unpriced-note has-unpriced"> {text.slice(cut + 1)}</span>
    </span>
  );
}

export function Tok({ n }: { n: number | null | undefined }) {
  return <span title={n === null || n === undefined ? undefined : `${count(n)} tokens`}>{tokens(n)}</span>;
}

export function Dur({ ms }: { ms: number | null | undefined }) {
  return <span>{duration(ms)}</span>;
}

export function Loading({ what }: { what: string }) {
  return <p class="muted loading">loading {what}…</p>;
}

export function ErrorBox({ error }: { error: string }) {
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Section({ title, children, actions, class: cls }: { title: string; children: ComponentChildren; actions?: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${cls ?? ''}`}>
      <header class="card-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function Kpi({ label, value, sub, testid }: { label: string; value: ComponentChildren; sub?: ComponentChildren; testid?: string }) {
  return (
    <div class="kpi" data-testid={testid}>
      <div class="kpi-label">{label}</div>
      <div class="kpi-value">{value}</div>
      {sub !== undefined && <div class="kpi-sub">{sub}</div>}
    </div>
  );
}

export interface Column<T> {
  key: string;
  label: string;
  render: (row: T) => ComponentChildren;
  num?: boolean;
  /** Sortable by the server under this name. */
  sort?: string;
}

/**
 * A table whose rows can be opened: click, or move with the arrow keys and press Enter.
 * Sortable headers are buttons that report the column.
 */
export function DataTable<T>({
  columns,
  rows,
  rowKey,
  rowHref,
  sort,
  dir,
  onSort,
  footer,
  empty = 'nothing here yet',
  testid,
}: {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  rowHref?: (row: T) => string | undefined;
  sort?: string;
  dir?: 'asc' | 'desc';
  onSort?: (key: string) => void;
  footer?: ComponentChildren;
  empty?: string;
  testid?: string;
}) {
  const body = useRef<HTMLTableSectionElement>(null);
  const onKey = (e: TargetedKeyboardEvent<HTMLTableRowElement>, row: T): void => {
    const tr = e.currentTarget;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const next = (e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling) as HTMLElement | null;
      if (next) {
        next.focus();
        e.preventDefault();
      }
    } else if (e.key === 'Home' || e.key === 'End') {
      const rowsEls = body.current?.querySelectorAll<HTMLElement>('tr[tabindex]');
      const target = rowsEls?.[e.key === 'Home' ? 0 : rowsEls.length - 1];
      target?.focus();
      e.preventDefault();
    } else if (e.key === 'Enter') {
      const h = rowHref?.(row);
      if (h) navigate(h);
    }
  };
  return (
    <div class="table-wrap">
      <table class="data" data-testid={testid}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} class={c.num ? 'num' : undefined} aria-sort={sort && c.sort === sort ? (dir === 'asc' ? 'ascending' : 'descending') : undefined}>
                {c.sort && onSort ? (
                  <button type="button" class="sort" onClick={() => onSort(c.sort!)}>
                    {c.label}
                    {sort === c.sort ? (dir === 'asc' ? ' ▲' : ' ▼') : ''}
                  </button>
                ) : (
                  c.label
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody ref={body}>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} class="muted empty">
                {empty}
              </td>
            </tr>
          ) : (
            rows.map((row) => {
              const h = rowHref?.(row);
              return (
                <tr
                  key={rowKey(row)}
                  tabIndex={h ? 0 : undefined}
                  class={h ? 'link-row' : undefined}
                  onClick={h ? (e) => ((e.target as Element).closest('a,button') ? undefined : navigate(h)) : undefined}
                  onKeyDown={h ? (e) => onKey(e, row) : undefined}
                >
                  {columns.map((c) => (
                    <td key={c.key} class={c.num ? 'num' : undefined}>
                      {c.render(row)}
                    </td>
                  ))}
                </tr>
              );
            })
          )}
        </tbody>
        {footer}
      </table>
    </div>
  );
}

/** Previous / next over `total` rows, `size` at a time; the offset lives in the address. */
export function Pager({ loc, offset, size, total }: { loc: Location; offset: number; size: number; total: number }) {
  return (
    <nav class="pager" aria-label="pages">
      <button type="button" disabled={offset === 0} onClick={() => navigate(withQuery(loc, { offset: Math.max(0, offset - size) || undefined }))}>
        ← previous
      </button>
      <span>
        {total === 0 ? 0 : offset + 1}–{Math.min(offset + size, total)} of {count(total)}
      </span>
      <button type="button" disabled={offset + size >= total} onClick={() => navigate(withQuery(loc, { offset: offset + size }))}>
        next →
      </button>
    </nav>
  );
}
