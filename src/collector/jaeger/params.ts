/**
 * Query-string parsing for the Jaeger API: Go durations (`1.2s`, `100ms`), epoch-microsecond
 * times, RFC 3339 times and the tag filters. Bad input throws ParamError, which the router
 * answers with 400 and a message naming the parameter.
 */
import { GEN_AI_AGENT_NAME } from '../../semconv.js';

/** An example of the tags parameter, for error messages. */
const TAGS_EXAMPLE = JSON.stringify({ [GEN_AI_AGENT_NAME]: 'planner' });

export class ParamError extends Error {
  constructor(readonly param: string, message: string) {
    super(`malformed parameter ${param}: ${message}`);
    this.name = 'ParamError';
  }
}

const GO_UNITS_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const GO_DURATION = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** A Go `time.ParseDuration` string in nanoseconds (`1h30m`, `1.5s`, `250ms`, `0`). */
export function parseGoDuration(text: string, param: string): bigint {
  let rest = text.trim();
  let sign = 1n;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1n;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') throw new ParamError(param, `"${text}" is not a duration (examples: 100ms, 1.5s, 2m, 1h30m)`);
  let total = 0;
  while (rest !== '') {
    const m = GO_DURATION.exec(rest);
    if (!m) throw new ParamError(param, `"${text}" is not a duration (examples: 100ms, 1.5s, 2m, 1h30m)`);
    total += Number(m[1]) * GO_UNITS_NS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (!Number.isFinite(total)) throw new ParamError(param, `"${text}" is too long a duration`);
  return sign * BigInt(Math.round(total));
}

/** Microseconds since the epoch (the v1 API's `start` and `end`) -> ns. */
export function parseMicros(text: string, param: string): bigint {
  if (!/^\d{1,19}$/.test(text.trim())) throw new ParamError(param, `"${text}" is not a time in microseconds since the Unix epoch`);
  return BigInt(text.trim()) * 1000n;
}

/** Milliseconds since the epoch (the v1 dependencies API's `endTs`) -> ns. */
export function parseMillis(text: string, param: string): bigint {
  if (!/^\d{1,16}$/.test(text.trim())) throw new ParamError(param, `"${text}" is not a time in milliseconds since the Unix epoch`);
  return BigInt(text.trim()) * 1_000_000n;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time with up to nanosecond precision (the v3 API's time bounds) -> ns. */
export function parseRfc3339(text: string, param: string): bigint {
  const m = RFC3339.exec(text.trim());
  const ms = m ? Date.parse(`${m[1]}T${m[2]}${m[4]!.toUpperCase()}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) throw new ParamError(param, `"${text}" is not an RFC 3339 time (example: 2026-01-02T15:04:05.123Z)`);
  const fraction = BigInt((m[3] ?? '').padEnd(9, '0'));
  return BigInt(ms) * 1_000_000n + fraction;
}

export function parsePositiveInt(text: string, param: string): number {
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < 0) throw new ParamError(param, `"${text}" is not a whole number`);
  return n;
}

/** A JSON object of string values (`tags` in v1, `query.attributes` in v3). */
export function parseTagsJson(text: string, param: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ParamError(param, `not JSON; expected an object such as ${TAGS_EXAMPLE}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ParamError(param, `expected a JSON object such as ${TAGS_EXAMPLE}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else throw new ParamError(param, `the value of "${k}" must be a string, number or boolean`);
  }
  return out;
}

/** Repeated `tag=key:value` parameters (the older v1 form). */
export function parseTagPairs(values: readonly string[], param: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf(':');
    if (i <= 0) throw new ParamError(param, `"${v}" is not key:value`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

/** 32 hex digits (shorter ids are left-padded with zeros, as Jaeger does for 64-bit ids). */
export function parseTraceId(text: string, param: string): string {
  const id = text.trim().toLowerCase();
  if (!/^[0-9a-f]{1,32}$/.test(id)) throw new ParamError(param, `"${text}" is not a trace id (up to 32 hex digits)`);
  return id.padStart(32, '0');
}
