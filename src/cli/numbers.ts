/**
 * How agentloupe writes numbers, durations and times, in the terminal and in the web UI alike.
 * Pure functions with no Node imports: the browser bundle imports this file directly.
 */

/** 950, 1.2k, 3.4M, 1.1B */
export function tokens(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  const abs = Math.abs(n);
  if (abs < 1000) return String(Math.round(n));
  if (abs < 1e6) return `${trim(n / 1e3)}k`;
  if (abs < 1e9) return `${trim(n / 1e6)}M`;
  return `${trim(n / 1e9)}B`;
}

function trim(x: number): string {
  return (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1)).replace(/\.0$/, '');
}

/**
 * $12.34, $0.0042, $0 — and "unpriced" where no price was known. `mark` decorates the unpriced
 * part (the terminal colours it, the UI leaves it plain).
 */
export function usd(n: number | null | undefined, unpricedCalls = 0, mark: (text: string) => string = (t) => t): string {
  if ((n === null || n === undefined || n === 0) && unpricedCalls > 0) return mark('unpriced');
  if (n === null || n === undefined) return '-';
  let text: string;
  if (n === 0) text = '$0';
  else if (Math.abs(n) >= 1) text = `$${n.toFixed(2)}`;
  else if (Math.abs(n) >= 0.01) text = `$${n.toFixed(3)}`;
  else text = `$${n.toPrecision(2)}`;
  return unpricedCalls > 0 ? `${text} ${mark(`+${unpricedCalls} unpriced`)}` : text;
}

/** 850ms, 12.3s, 3m12s, 2h05m */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1).replace(/\.0$/, '')}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

export function percent(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  return `${(x * 100).toFixed(1).replace(/\.0$/, '')}%`;
}

/** Local date-time of an epoch-seconds value: 2026-11-29 14:03:12. */
export function time(epochSeconds: number | null | undefined): string {
  if (epochSeconds === null || epochSeconds === undefined) return '-';
  const d = new Date(epochSeconds * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
