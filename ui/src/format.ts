/** The CLI's formatting (src/cli/numbers.ts), so the UI shows numbers exactly as the terminal does. */
export { duration, percent, time, tokens, usd } from '../../src/cli/numbers.js';

/** Nanoseconds as text (a string from the API) -> milliseconds. */
export function nsToMs(ns: string | number | bigint): number {
  return Number(BigInt(ns) / 1000n) / 1000;
}

export function utc(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

// What n.toLocaleString('en-US') gives, without building a formatter per call (10 ms of the
// runs page's first render in a CPU profile).
const WHOLE = new Intl.NumberFormat('en-US');

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : WHOLE.format(n);
}
