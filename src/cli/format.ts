import Table from 'cli-table3';

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  const noColor = process.env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1, dim: 2 } as const;
export type ColorName = keyof typeof CODES;

export function paint(text: string, color: ColorName): string {
  if (!useColor()) return text;
  return `\u001b[${CODES[color]}m${text}\u001b[${color === 'bold' || color === 'dim' ? 22 : 39}m`;
}

const STATUS_COLORS: Record<string, ColorName> = {
  completed: 'green',
  failed: 'red',
  terminated: 'magenta',
  running: 'cyan',
  starting: 'yellow',
  healthy: 'green',
  degraded: 'yellow',
  unhealthy: 'red',
  unknown: 'gray',
  stale: 'yellow',
  down: 'red',
};

export function status(text: string): string {
  const c = STATUS_COLORS[text];
  return c ? paint(text, c) : text;
}

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

/** $12.34, $0.0042, $0 — and "unpriced" where no price was known. */
export function usd(n: number | null | undefined, unpricedCalls = 0): string {
  if ((n === null || n === undefined || n === 0) && unpricedCalls > 0) return paint('unpriced', 'yellow');
  if (n === null || n === undefined) return '-';
  let text: string;
  if (n === 0) text = '$0';
  else if (Math.abs(n) >= 1) text = `$${n.toFixed(2)}`;
  else if (Math.abs(n) >= 0.01) text = `$${n.toFixed(3)}`;
  else text = `$${n.toPrecision(2)}`;
  return unpricedCalls > 0 ? `${text} ${paint(`+${unpricedCalls} unpriced`, 'yellow')}` : text;
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

/** The terminal's width; COLUMNS when output goes to a pipe or file; else 120. */
export function terminalWidth(): number {
  if (process.stdout.columns && process.stdout.columns > 20) return process.stdout.columns;
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env > 20 ? env : 120;
}

/** Cuts a cell to `max` visible characters. */
export function clip(text: string | null | undefined, max: number): string {
  if (text === null || text === undefined) return '-';
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, Math.max(1, max - 1))}…` : oneLine;
}

/**
 * An aligned table without borders. Right-aligns the columns named in `right`. The last column
 * given as `flex` shrinks so the table fits the terminal.
 */
export function table(head: string[], rows: string[][], options: { right?: number[]; flex?: number } = {}): string {
  const width = terminalWidth();
  let body = rows;
  if (options.flex !== undefined) {
    const flex = options.flex;
    const others = head.reduce((sum, h, i) => (i === flex ? sum : sum + Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))) + 2), 0);
    const room = Math.max(12, width - others - 2);
    body = rows.map((r) => r.map((cell, i) => (i === flex ? clip(cell, room) : cell)));
  }
  const t = new Table({
    head: head.map((h) => paint(h, 'bold')),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    colAligns: head.map((_, i) => (options.right?.includes(i) ? 'right' : 'left')),
  });
  for (const r of body) t.push(r);
  return t
    .toString()
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .join('\n');
}

function visible(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** "key  value" lines with aligned values. */
export function pairs(entries: [string, string][]): string {
  const w = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${paint(k.padEnd(w), 'dim')}  ${v}`).join('\n');
}

export function heading(text: string): string {
  return paint(text, 'bold');
}
