import type { TargetedKeyboardEvent } from 'preact';
import { duration } from '../format.js';
import type { WaterfallRow } from '../waterfall-model.js';

/** Every span on one time axis; arrow keys move, Enter selects. */
export function Waterfall({ rows, selected, onSelect }: { rows: WaterfallRow[]; selected: string | undefined; onSelect: (id: string) => void }) {
  if (rows.length === 0) return <p class="muted">no spans stored for this view</p>;
  const t0 = Math.min(...rows.map((r) => r.start));
  const t1 = Math.max(...rows.map((r) => r.end), t0 + 1);
  const span = t1 - t0;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const onKey = (e: TargetedKeyboardEvent<HTMLElement>, i: number): void => {
    const to = e.key === 'ArrowDown' ? rows[i + 1] : e.key === 'ArrowUp' ? rows[i - 1] : undefined;
    if (to) {
      e.preventDefault();
      (e.currentTarget.parentElement?.querySelector<HTMLElement>(`[data-row="${CSS.escape(to.id)}"]`))?.focus();
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onSelect(rows[i]!.id);
    }
  };
  return (
    <div class="waterfall" role="listbox" aria-label="spans" data-testid="waterfall">
      <div class="wf-axis" aria-hidden="true">
        <span class="wf-label" />
        <span class="wf-track">
          {ticks.map((t) => (
            <span key={t} class="wf-tick" style={{ left: `${t * 100}%` }}>
              {duration(t * span)}
            </span>
          ))}
        </span>
      </div>
      {rows.map((r, i) => {
        const left = ((r.start - t0) / span) * 100;
        const width = Math.max(0.3, ((r.end - r.start) / span) * 100);
        return (
          <div
            key={r.id}
            role="option"
            aria-selected={selected === r.id}
            tabIndex={selected === r.id || (selected === undefined && i === 0) ? 0 : -1}
            data-row={r.id}
            class={`wf-row kind-${r.kind}${selected === r.id ? ' selected' : ''}${r.error ? ' is-error' : ''}`}
            onClick={() => onSelect(r.id)}
            onKeyDown={(e) => onKey(e, i)}
          >
            <span class="wf-label" style={{ paddingLeft: `${r.depth * 12 + 4}px` }} title={r.name}>
              <span class={`kind-dot kind-${r.kind}`} aria-hidden="true" />
              {r.name}
            </span>
            <span class="wf-track">
              <span class="wf-bar" style={{ left: `${Math.min(left, 99.7)}%`, width: `${Math.min(width, 100 - Math.min(left, 99.7))}%` }} />
              <span
                class={`wf-dur${width > 25 ? ' inside' : ''}`}
                style={width > 25 ? { right: `${Math.max(0, 100 - left - width)}%` } : left + width > 82 ? { right: `${100 - Math.min(left, 99.7)}%` } : { left: `${left + width}%` }}
              >
                {duration(r.end - r.start)}
              </span>
            </span>
          </div>
        );
      })}
    </div>
  );
}
