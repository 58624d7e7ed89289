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

/** "15.4k  (input 12k, cache read 200, output 3.4k)": a call's or a run's tokens, the same everywhere. */
export function tokenSummary(t: { total: number; input: number; cacheRead: number; output: number }): string {
  return `${n.tokens(t.total)}  (input ${n.tokens(t.input)}, cache read ${n.tokens(t.cacheRead)}, output ${n.tokens(t.output)})`;
}

/**
 * The width tables are fitted to: the terminal's on a terminal; else COLUMNS (a pipe, a file,
 * a terminal that does not say); else 80.
 */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number {
  if (stream.isTTY === true && stream.columns && stream.columns > 20) return stream.columns;
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env > 20 ? env : 80;
}

/** Cuts a cell to `max` visible characters, ending in … when cut. Colour is dropped from a cut cell. */
export function clip(text: string | null | undefined, max: number): string {
  if (text === null || text === undefined) return '-';
  const oneLine = text.replace(/\s+/g, ' ');
  if (visible(oneLine) <= max) return oneLine;
  const plain = stripColor(oneLine);
  return `${plain.slice(0, Math.max(1, max - 1))}…`;
}

export interface Column {
  header: string;
  right?: boolean;
  /** The cells may be cut (with …) down to this width when the table does not fit. */
  min?: number;
  /**
   * When the table does not fit even with every cuttable column at its minimum, columns with a
   * `drop` rank are left out, lowest rank first. Columns without one are always shown.
   */
  drop?: number;
}

export interface TableOptions {
  /** Every column, every cell in full, whatever the terminal's width. */
  wide?: boolean;
  width?: number;
}

const GAP = 2;

/**
 * An aligned table without borders, fitted to the terminal: first the columns with a drop rank
 * are left out until the rest fits at its minimum widths, then cuttable cells are cut, the
 * widest first. A line under the table names what was left out.
 */
export function fitTable(columns: Column[], rows: string[][], options: TableOptions = {}): string {
  const width = options.width ?? terminalWidth();
  const natural = columns.map((c, i) => Math.max(visible(c.header), ...rows.map((r) => visible(r[i] ?? ''))));
  let shown = columns.map((_, i) => i);
  const widths = [...natural];
  if (!options.wide) {
    const floor = (i: number): number => (columns[i]!.min !== undefined ? Math.min(natural[i]!, Math.max(columns[i]!.min!, visible(columns[i]!.header))) : natural[i]!);
    const total = (cols: number[], w: (i: number) => number): number => cols.reduce((sum, i) => sum + w(i), 0) + GAP * Math.max(0, cols.length - 1);
    for (;;) {
      if (total(shown, floor) <= width) break;
      const droppable = shown.filter((i) => columns[i]!.drop !== undefined);
      if (droppable.length === 0) break;
      const next = droppable.reduce((a, b) => (columns[b]!.drop! < columns[a]!.drop! ? b : a));
      shown = shown.filter((i) => i !== next);
    }
    // A column left out early may fit again beside the ones that stayed, if nothing must be cut for it.
    const left = columns.map((_, i) => i).filter((i) => !shown.includes(i)).sort((a, b) => columns[b]!.drop! - columns[a]!.drop!);
    for (const i of left) {
      const withIt = [...shown, i].sort((a, b) => a - b);
      if (total(withIt, (k) => natural[k]!) <= width) shown = withIt;
    }
    let excess = total(shown, (i) => natural[i]!) - width;
    while (excess > 0) {
      const cuttable = shown.filter((i) => widths[i]! > floor(i));
      if (cuttable.length === 0) break;
      const widest = cuttable.reduce((a, b) => (widths[b]! - floor(b) > widths[a]! - floor(a) ? b : a));
      widths[widest]!--;
      excess--;
    }
  }
  const line = (cells: string[]): string =>
    shown
      .map((i) => {
        const cell = widths[i]! < natural[i]! ? clip(cells[i] ?? '', widths[i]!) : (cells[i] ?? '');
        const pad = ' '.repeat(Math.max(0, widths[i]! - visible(cell)));
        return columns[i]!.right ? pad + cell : cell + pad;
      })
      .join(' '.repeat(GAP))
      .replace(/\s+$/, '');
  const out = [line(columns.map((c) => paint(c.header, 'bold'))), ...rows.map(line)];
  const hidden = columns.filter((_, i) => !shown.includes(i)).map((c) => c.header);
  if (hidden.length > 0 && !options.wide) out.push(paint(clip(`(--wide adds ${hidden.join(', ')})`, width), 'dim'));
  return out.join('\n');
}

/**
 * An aligned table without borders. Right-aligns the columns named in `right`; the column given
 * as `flex` is cut (with …) so the table fits the terminal.
 */
export function table(head: string[], rows: string[][], options: { right?: number[]; flex?: number; wide?: boolean } = {}): string {
  return fitTable(
    head.map((header, i) => ({ header, right: options.right?.includes(i), min: i === options.flex ? 12 : undefined })),
    rows,
    { wide: options.wide },
  );
}

function stripColor(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

function visible(text: string): number {
  return stripColor(text).length;
}

/** "key  value" lines with aligned values. */
export function pairs(entries: [string, string][]): string {
  const w = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${paint(k.padEnd(w), 'dim')}  ${v}`).join('\n');
}

export function heading(text: string): string {
  return paint(text, 'bold');
}
