import Table from 'cli-table3';
import * as n from './numbers.js';

export { duration, percent, time, tokens } from './numbers.js';

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

/** $12.34, $0.0042, $0 — and "unpriced" where no price was known. */
export function usd(value: number | null | undefined, unpricedCalls = 0): string {
  return n.usd(value, unpricedCalls, (text) => paint(text, 'yellow'));
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
