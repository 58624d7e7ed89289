const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A duration in configuration: a string with a unit (`500ms`, `90s`, `5m`, `1h`, `7d`, `2w`) or a number of milliseconds. */
export type Duration = string | number;

/** Milliseconds of a duration; throws a message naming `what` and the accepted forms. */
export function durationMs(value: Duration, what: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/i.exec(value);
    if (m) return Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
  }
  throw new TypeError(`${what}: cannot read ${JSON.stringify(value)} as a duration; use a number of milliseconds or a string like "500ms", "90s", "5m", "1h", "7d"`);
}

/** 1h 5m, 42s, 350ms: for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
