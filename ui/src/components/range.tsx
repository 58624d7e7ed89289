import { navigate, withQuery, type Location } from '../router.js';

const PRESETS: [string, string][] = [
  ['1h', 'last hour'],
  ['24h', '24 hours'],
  ['7d', '7 days'],
  ['30d', '30 days'],
  ['', 'all time'],
];

/** since/until in the address: a preset, or any text `agentloupe cost --since` takes (7d, 2026-11-01, epoch seconds). */
export function RangePicker({ loc }: { loc: Location }) {
  const since = loc.query.get('since') ?? '';
  const until = loc.query.get('until') ?? '';
  const custom = until !== '' || !PRESETS.some(([v]) => v === since);
  return (
    <div class="range" role="group" aria-label="time range">
      {PRESETS.map(([v, label]) => (
        <button type="button" key={v} class={!custom && since === v ? 'on' : undefined} aria-pressed={!custom && since === v} onClick={() => navigate(withQuery(loc, { since: v, until: undefined, offset: undefined }))}>
          {label}
        </button>
      ))}
      <form
        class="range-custom"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          navigate(withQuery(loc, { since: String(f.get('since') ?? ''), until: String(f.get('until') ?? ''), offset: undefined }));
        }}
      >
        <label>
          since <input name="since" size={11} value={since} placeholder="7d, 2026-11-01" />
        </label>
        <label>
          until <input name="until" size={11} value={until} placeholder="now" />
        </label>
        <button type="submit">apply</button>
      </form>
    </div>
  );
}

export function rangeQuery(loc: Location): string {
  const q = new URLSearchParams();
  const since = loc.query.get('since');
  const until = loc.query.get('until');
  if (since) q.set('since', since);
  if (until) q.set('until', until);
  return q.toString();
}
