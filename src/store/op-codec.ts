/**
 * Write operations as one flat array of primitives: what the agent's thread hands to the writer
 * thread. Structured clone copies a flat array of strings, numbers and bigints much faster than
 * the same values as an array of row objects (no property names, no object graph).
 */
import { decodeEndedSpan, encodeEndedSpan, type SettledCost } from '../spans/ended-span-transfer.js';
import { resourceJson, type CostFunction } from '../spans/mapping.js';
import type { AgentRow, CallPair, SessionEventRow, SpanRow, TelemetryRow, WriteOp } from '../spans/rows.js';
import type { Attributes, SpanData } from '../spans/span-data.js';
import { endedSpanOps, type ResolvedOwner } from '../spans/span-ops.js';

const AGENT_KEYS = [
  'id', 'parentId', 'planId', 'agentType', 'status', 'processId', 'startTime', 'endTime', 'exitCode', 'errorMessage', 'logFile',
  'name', 'category', 'traceId', 'spanId', 'serviceName', 'startNs', 'endNs',
] as const satisfies readonly (keyof AgentRow)[];

/** Values per telemetry row and per span row in the flat array (pushTelemetry, pushSpan). */
const TELEMETRY_FIELDS = 25;

const SESSION_EVENT_KEYS = [
  'recordId', 'agentId', 'turnId', 'kind', 'name', 'ok', 'durationMs', 'promptLength', 'timeNs',
] as const satisfies readonly (keyof SessionEventRow)[];

const SPAN_FIELDS = 17;

const enum Code {
  AgentStart = 1,
  SyntheticAgent = 2,
  AgentStatus = 3,
  AgentEnd = 4,
  Telemetry = 5,
  Span = 6,
  Reown = 7,
  WaitFor = 8,
  WaitDone = 9,
  /** An ended span, mapped to its ops by the writer (ended-span-transfer.ts). */
  EndedSpan = 10,
  SessionEvent = 11,
}

export type EncodedOps = unknown[];

function pushRow(out: EncodedOps, row: object, keys: readonly string[]): void {
  const r = row as Record<string, unknown>;
  for (let i = 0; i < keys.length; i++) out.push(r[keys[i]!]);
}

// A model call is a telemetry row and a span row: these two are spelled out field by field
// instead of looping over a key list (a keyed property read and write per field
// cost the collector's HTTP thread a few µs per span). test/op-codec.test.ts checks both ways.
function pushTelemetry(out: EncodedOps, r: TelemetryRow): void {
  out.push(
    r.agentId, r.timestamp, r.inputTokens, r.outputTokens, r.cachedTokens, r.cacheCreationTokens, r.cacheReadTokens, r.totalTokens,
    r.estimatedCost, r.model, r.provider, r.toolName, r.toolArgs, r.toolApproved, r.toolApprovalType, r.engineId, r.traceId, r.spanId,
    r.operation, r.unpriced, r.reasoningTokens, r.durationMs, r.partial, r.turnId, r.timeNs,
  );
}

function readTelemetry(d: EncodedOps, i: number): TelemetryRow {
  return {
    agentId: d[i] as string, timestamp: d[i + 1] as number, inputTokens: d[i + 2] as number, outputTokens: d[i + 3] as number,
    cachedTokens: d[i + 4] as number, cacheCreationTokens: d[i + 5] as number, cacheReadTokens: d[i + 6] as number, totalTokens: d[i + 7] as number,
    estimatedCost: d[i + 8] as number, model: d[i + 9] as string | null, provider: d[i + 10] as string | null, toolName: d[i + 11] as string | null,
    toolArgs: d[i + 12] as string | null, toolApproved: d[i + 13] as boolean | null, toolApprovalType: d[i + 14] as string | null,
    engineId: d[i + 15] as string | null, traceId: d[i + 16] as string | null, spanId: d[i + 17] as string | null, operation: d[i + 18] as string | null,
    unpriced: d[i + 19] as boolean, reasoningTokens: d[i + 20] as number, durationMs: d[i + 21] as number | null, partial: d[i + 22] as boolean,
    turnId: d[i + 23] as string | null | undefined, timeNs: d[i + 24] as bigint | null | undefined,
  };
}

function pushSpan(out: EncodedOps, r: SpanRow): void {
  out.push(
    r.traceId, r.spanId, r.parentSpanId, r.name, r.kind, r.startNs, r.endNs, r.durationNs, r.statusCode, r.statusMessage, r.serviceName,
    r.scopeName, r.agentId, r.attributes, r.events, r.links, r.resource,
  );
}

function readSpan(d: EncodedOps, i: number): SpanRow {
  return {
    traceId: d[i] as string, spanId: d[i + 1] as string, parentSpanId: d[i + 2] as string | null, name: d[i + 3] as string, kind: d[i + 4] as number,
    startNs: d[i + 5] as bigint, endNs: d[i + 6] as bigint, durationNs: d[i + 7] as bigint, statusCode: d[i + 8] as number,
    statusMessage: d[i + 9] as string | null, serviceName: d[i + 10] as string | null, scopeName: d[i + 11] as string | null,
    agentId: d[i + 12] as string | null, attributes: d[i + 13] as string, events: d[i + 14] as string, links: d[i + 15] as string,
    resource: d[i + 16] as string,
  };
}

function readRow<T>(data: EncodedOps, at: number, keys: readonly string[]): T {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) row[keys[i]!] = data[at + i];
  return row as T;
}

/** Appends one op to `out`. */
export function encodeOp(op: WriteOp, out: EncodedOps): void {
  switch (op.kind) {
    case 'agentStart':
      out.push(Code.AgentStart);
      pushRow(out, op.row, AGENT_KEYS);
      return;
    case 'syntheticAgent':
      out.push(Code.SyntheticAgent);
      pushRow(out, op.row, AGENT_KEYS);
      return;
    case 'agentStatus':
      out.push(Code.AgentStatus, op.change.id, op.change.status, op.change.time);
      return;
    case 'agentEnd':
      out.push(Code.AgentEnd, op.durationMs);
      pushRow(out, op.row, AGENT_KEYS);
      return;
    case 'telemetry':
      out.push(Code.Telemetry, op.dedupe, op.agentLive ?? false, op.pair?.key ?? null, op.pair?.source ?? null, op.pair?.link?.traceId ?? null, op.pair?.link?.spanId ?? null, op.stubType ?? null);
      pushTelemetry(out, op.row);
      return;
    case 'span':
      out.push(Code.Span);
      pushSpan(out, op.row);
      return;
    case 'sessionEvent':
      out.push(Code.SessionEvent);
      pushRow(out, op.row, SESSION_EVENT_KEYS);
      return;
    case 'reown':
      out.push(Code.Reown, op.traceId, op.spanId, op.agentId);
      return;
    case 'waitFor':
    case 'waitDone':
      out.push(op.kind === 'waitFor' ? Code.WaitFor : Code.WaitDone, op.traceId, op.spanId);
      return;
  }
}

/** Key lists (and resources) one channel numbers at most; past it spans carry them in full. */
const MAX_DEFINED = 256;
/** Recently used key lists tried, by walking the attributes, before a full look-up. */
const RECENT_SHAPES = 4;

/**
 * What one channel (a write queue and its writer thread) has sent already: resources and attribute
 * key lists, each sent once and then named by number. A model call's span has the same 13 keys
 * every time; structured clone writes an object's keys with every value (`bench -- handover`:
 * 0.64x the recording thread's time with the values alone). A definition is made when its span is
 * appended, after the queue admitted it, and batches go over in order, so the receiver always
 * has a number's definition before its first use.
 */
export class HandOverSender {
  private readonly shapes: string[][] = [];
  private readonly recent: number[] = [];
  private readonly resources = new Map<Readonly<Attributes>, number>();

  /** Appends the resource slot: its number, or its JSON the first time (the receiver numbers it). */
  pushResource(resource: Readonly<Attributes>, out: EncodedOps): void {
    const id = this.resources.get(resource);
    if (id !== undefined) {
      out.push(id);
      return;
    }
    if (this.resources.size < MAX_DEFINED) this.resources.set(resource, this.resources.size);
    else {
      // Past the cap each span carries its resource's JSON, which the receiver does not number.
      out.push(null, resourceJson(resource as Attributes));
      return;
    }
    out.push(resourceJson(resource as Attributes));
  }

  /**
   * Appends the attributes: a known shape's number and the values in its key order, a new key
   * list (the receiver numbers it) and the values, or null and the object itself.
   */
  pushAttributes(attributes: Readonly<Attributes>, out: EncodedOps): void {
    const slot = out.length;
    out.push(0);
    for (let r = 0; r < this.recent.length; r++) {
      const id = this.recent[r]!;
      const keys = this.shapes[id]!;
      let n = 0;
      for (const key in attributes) {
        if (n === keys.length || keys[n] !== key) {
          n = -1;
          break;
        }
        out.push(attributes[key]);
        n++;
      }
      if (n === keys.length) {
        out[slot] = id;
        if (r > 0) this.touch(r, id);
        return;
      }
      out.length = slot + 1;
    }
    const keys = Object.keys(attributes);
    let id = this.shapes.findIndex((k) => k.length === keys.length && k.every((key, i) => key === keys[i]));
    if (id === -1) {
      if (this.shapes.length >= MAX_DEFINED) {
        out[slot] = null;
        out.push(attributes);
        return;
      }
      id = this.shapes.length;
      this.shapes.push(keys);
      out[slot] = keys;
    } else {
      out[slot] = id;
    }
    for (let i = 0; i < keys.length; i++) out.push(attributes[keys[i]!]);
    this.touch(this.recent.indexOf(id), id);
  }

  private touch(at: number, id: number): void {
    if (at >= 0) this.recent.splice(at, 1);
    this.recent.unshift(id);
    if (this.recent.length > RECENT_SHAPES) this.recent.length = RECENT_SHAPES;
  }
}

/** The receiving end of a channel: what HandOverSender numbered, in the same order. */
export class HandOverReceiver {
  readonly shapes: string[][] = [];
  readonly resources: Attributes[] = [];
}

/** Appends one ended span, to be mapped to its ops by the writer. */
export function encodeEnded(span: SpanData, owner: ResolvedOwner, cost: SettledCost | null, out: EncodedOps, sender = new HandOverSender()): void {
  appendEnded(encodeEndedSpan(span, owner, cost), span.resource, span.attributes, out, sender);
}

/** Appends one ended span already encoded (ended-span-transfer.ts), its resource and its attributes. */
export function appendEnded(encoded: string, resource: Readonly<Attributes>, attributes: Readonly<Attributes>, out: EncodedOps, sender: HandOverSender): void {
  out.push(Code.EndedSpan, encoded);
  sender.pushResource(resource, out);
  sender.pushAttributes(attributes, out);
}

/** Reads what pushResource wrote at `i`; returns the resource and the index after it. */
function readResource(data: EncodedOps, i: number, rx: HandOverReceiver): [Attributes, number] {
  const slot = data[i];
  if (typeof slot === 'number') {
    const known = rx.resources[slot];
    if (known === undefined) throw new Error(`corrupt write batch: unknown resource ${slot} at ${i}`);
    return [known, i + 1];
  }
  if (slot === null) return [JSON.parse(data[i + 1] as string) as Attributes, i + 2];
  const resource = JSON.parse(slot as string) as Attributes;
  rx.resources.push(resource);
  return [resource, i + 1];
}

/** Reads what pushAttributes wrote at `i`; returns the attributes and the index after them. */
function readAttributes(data: EncodedOps, i: number, rx: HandOverReceiver): [Attributes, number] {
  const slot = data[i];
  if (slot === null) return [data[i + 1] as Attributes, i + 2];
  let keys: string[] | undefined;
  if (typeof slot === 'number') {
    keys = rx.shapes[slot];
    if (keys === undefined) throw new Error(`corrupt write batch: unknown attribute shape ${slot} at ${i}`);
  } else {
    keys = slot as string[];
    rx.shapes.push(keys);
  }
  const attributes: Attributes = {};
  for (let k = 0; k < keys.length; k++) attributes[keys[k]!] = data[i + 1 + k] as Attributes[string];
  return [attributes, i + 1 + keys.length];
}

/** The ops of an encoded array, in order. */
export function decodeOps(data: EncodedOps, rx = new HandOverReceiver()): WriteOp[] {
  const units: WriteOp[][] = [];
  decodeUnits(data, units, undefined, rx);
  return units.flat();
}

/**
 * Decodes an encoded array into `out`, one entry per queued unit: an op alone, or the ops an
 * ended span maps to (the queue counts and acknowledges units). A span the mapping throws on
 * becomes an empty unit, handed to `unmapped` to be counted as failed.
 */
export function decodeUnits(data: EncodedOps, out: WriteOp[][], unmapped?: (unit: WriteOp[], error: Error) => void, rx = new HandOverReceiver()): void {
  let i = 0;
  while (i < data.length) {
    const code = data[i++] as Code;
    if (code === Code.EndedSpan) {
      const text = data[i++] as string;
      const [resource, afterResource] = readResource(data, i, rx);
      const [attributes, after] = readAttributes(data, afterResource, rx);
      i = after;
      let ops: WriteOp[] = [];
      try {
        const ended = decodeEndedSpan(text, resource, attributes);
        const cost = ended.cost;
        const price: CostFunction | undefined = cost === null ? undefined : () => cost;
        endedSpanOps(ended.span, ended.owner, price, ops);
      } catch (err) {
        ops = [];
        unmapped?.(ops, err as Error);
      }
      out.push(ops);
      continue;
    }
    const ops: WriteOp[] = [];
    out.push(ops);
    switch (code) {
      case Code.AgentStart:
      case Code.SyntheticAgent:
        ops.push({ kind: code === Code.AgentStart ? 'agentStart' : 'syntheticAgent', row: readRow<AgentRow>(data, i, AGENT_KEYS) });
        i += AGENT_KEYS.length;
        break;
      case Code.AgentStatus:
        ops.push({ kind: 'agentStatus', change: { id: data[i] as string, status: data[i + 1] as AgentRow['status'], time: data[i + 2] as number } });
        i += 3;
        break;
      case Code.AgentEnd:
        ops.push({ kind: 'agentEnd', durationMs: data[i] as number, row: readRow<AgentRow>(data, i + 1, AGENT_KEYS) });
        i += 1 + AGENT_KEYS.length;
        break;
      case Code.Telemetry: {
        const op: WriteOp = { kind: 'telemetry', dedupe: data[i] as boolean, agentLive: data[i + 1] as boolean, row: readTelemetry(data, i + 7) };
        if (data[i + 6] !== null) op.stubType = data[i + 6] as string;
        // A coding agent's call reported twice (see CallPair): key, source, and the log's span link.
        if (data[i + 2] !== null) {
          const pair: CallPair = { key: data[i + 2] as string, source: data[i + 3] as CallPair['source'] };
          if (data[i + 4] !== null) pair.link = { traceId: data[i + 4] as string, spanId: data[i + 5] as string };
          op.pair = pair;
        }
        ops.push(op);
        i += 7 + TELEMETRY_FIELDS;
        break;
      }
      case Code.Span:
        ops.push({ kind: 'span', row: readSpan(data, i) });
        i += SPAN_FIELDS;
        break;
      case Code.SessionEvent:
        ops.push({ kind: 'sessionEvent', row: readRow<SessionEventRow>(data, i, SESSION_EVENT_KEYS) });
        i += SESSION_EVENT_KEYS.length;
        break;
      case Code.Reown:
        ops.push({ kind: 'reown', traceId: data[i] as string, spanId: data[i + 1] as string, agentId: data[i + 2] as string });
        i += 3;
        break;
      case Code.WaitFor:
      case Code.WaitDone:
        ops.push({ kind: code === Code.WaitFor ? 'waitFor' : 'waitDone', traceId: data[i] as string, spanId: data[i + 1] as string });
        i += 2;
        break;
      default:
        throw new Error(`corrupt write batch: unknown op code ${String(code)} at ${i - 1}`);
    }
  }
}
