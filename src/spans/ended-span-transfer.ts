/**
 * An ended span as the agent's thread hands it to the writer thread: one string, then its resource
 * and its attribute values beside it in the write batch's flat array (op-codec.ts sends each
 * resource and attribute key list once per queue). The agent's thread only resolves the owner and
 * joins the fields; the mapping to rows (endedSpanOps, which makes the attributes' JSON) runs in
 * the writer thread. Structured clone pays per value far more than per byte, hence one string for
 * the many small fields; the attribute values clone faster than JSON.stringify makes their text.
 *
 * Fields are separated by U+0001, which JSON text never contains unescaped; ids are hex, numbers
 * decimal. A free-form text field is empty when absent, the text itself when it is not empty,
 * holds no U+0001 and does not start with U+0002 (nearly always: a scan, where JSON.stringify
 * cost ~600 instructions a call), else U+0002 and its JSON. Field 9 (once the attributes) stays
 * empty.
 */
import type { HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ResolvedOwner } from './span-ops.js';
import type { Attributes, SpanData, SpanEventData, SpanLinkData } from './span-data.js';
import { toJson } from './mapping.js';

/** The price the agent's thread already settled for a model call (see SpanConversion), so the writer needs no price table. */
export interface SettledCost {
  costUsd: number;
  priced: boolean;
}

const SEP = '\u0001';
const ESC = '\u0002';
const FIELDS = 19;

/** A free-form text field (see above): most go as they are, the odd one as ESC and its JSON. */
function text(v: string | undefined): string {
  if (v === undefined) return '';
  return v !== '' && v.indexOf(SEP) === -1 && v.charCodeAt(0) !== 2 ? v : ESC + JSON.stringify(v);
}

/** What text() made; null for an absent field. */
function readText(f: string): string | null {
  if (f === '') return null;
  return f.charCodeAt(0) === 2 ? (JSON.parse(f.slice(1)) as string) : f;
}

/**
 * The one field layout (decodeEndedSpan reads it back). Times are decimal nanoseconds; events and
 * links JSON, or '' when there are none; field 9 stays empty. The resource is not here: it travels
 * beside the text, sent once per queue (op-codec.ts).
 */
function joinFields(
  traceId: string, spanId: string, parentSpanId: string | undefined, name: string, kind: number, startNs: string, endNs: string,
  statusCode: number, statusMessage: string | undefined, eventsJson: string, linksJson: string, scopeName: string | undefined,
  owner: ResolvedOwner, cost: SettledCost | null,
): string {
  // The separators are written into the template itself (not as ${SEP}): every ${} part is one
  // more string concatenation, and this runs on the agent's thread for every span.
  return (
    `${traceId}\u0001${spanId}\u0001${parentSpanId ?? ''}\u0001${text(name)}\u0001${kind}` +
    `\u0001${startNs}\u0001${endNs}\u0001${statusCode}\u0001${text(statusMessage)}` +
    `\u0001\u0001${eventsJson}\u0001${linksJson}\u0001${text(scopeName)}` +
    `\u0001${text(owner.agentId)}\u0001${text(owner.parentAgentId)}\u0001${owner.statusEventsSeen ?? 0}\u0001${owner.agentLive ? 1 : 0}` +
    `\u0001${cost === null ? '' : cost.costUsd}\u0001${cost?.priced ? 1 : 0}`
  );
}

/** One ended span, its owner and its settled cost (null: none) as one string; its resource and attributes travel beside it. */
export function encodeEndedSpan(span: SpanData, owner: ResolvedOwner, cost: SettledCost | null): string {
  return joinFields(
    span.traceId, span.spanId, span.parentSpanId, span.name, span.kind, String(span.startTimeUnixNano), span.endTimeUnixNano === undefined ? '' : String(span.endTimeUnixNano),
    span.statusCode, span.statusMessage, span.events.length === 0 ? '' : toJson(span.events), span.links.length === 0 ? '' : toJson(span.links),
    span.scopeName, owner, cost,
  );
}

/** Nanoseconds since the epoch as a decimal string, without BigInt arithmetic. */
function hrNs(t: HrTime): string {
  return t[0] === 0 ? String(t[1]) : `${t[0]}${String(t[1]).padStart(9, '0')}`;
}

function hrEvents(span: ReadableSpan): string {
  return toJson(span.events.map((e) => ({ name: e.name, timeUnixNano: hrNs(e.time), attributes: e.attributes ?? {} })));
}

function hrLinks(span: ReadableSpan): string {
  return toJson(span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: l.attributes ?? {} })));
}

/**
 * The same string straight from an ended SDK span, with no SpanData made on the way: what the
 * in-process processor hands over (see readable-span.ts for the field meanings).
 */
export function encodeEndedReadableSpan(span: ReadableSpan, owner: ResolvedOwner, cost: SettledCost | null): string {
  const ctx = span.spanContext();
  return joinFields(
    ctx.traceId, ctx.spanId, span.parentSpanContext?.spanId, span.name, span.kind, hrNs(span.startTime), hrNs(span.endTime),
    span.status.code, span.status.message, span.events.length === 0 ? '' : hrEvents(span), span.links.length === 0 ? '' : hrLinks(span),
    span.instrumentationScope.name, owner, cost,
  );
}

export interface DecodedEndedSpan {
  span: SpanData;
  owner: ResolvedOwner;
  cost: SettledCost | null;
}

interface EventJson {
  name: string;
  timeUnixNano: string;
  attributes: Attributes;
}

/** Reads one string made by encodeEndedSpan, with the resource and attributes that travelled beside it; throws on one that is not. */
export function decodeEndedSpan(text: string, resource: Attributes, attributes: Attributes): DecodedEndedSpan {
  if (attributes === null || typeof attributes !== 'object') throw new Error('malformed span hand-over (no attributes)');
  const f = text.split(SEP);
  if (f.length !== FIELDS) throw new Error(`malformed span hand-over (${f.length} fields, expected ${FIELDS})`);
  const span: SpanData = {
    traceId: f[0]!,
    spanId: f[1]!,
    name: readText(f[3]!) ?? '',
    kind: Number(f[4]),
    startTimeUnixNano: BigInt(f[5]!),
    statusCode: Number(f[7]),
    attributes,
    events: f[10] === '' ? [] : (JSON.parse(f[10]!) as EventJson[]).map((e): SpanEventData => ({ name: e.name, timeUnixNano: BigInt(e.timeUnixNano), attributes: e.attributes })),
    links: f[11] === '' ? [] : (JSON.parse(f[11]!) as SpanLinkData[]),
    resource,
  };
  if (f[2] !== '') span.parentSpanId = f[2];
  if (f[6] !== '') span.endTimeUnixNano = BigInt(f[6]!);
  const statusMessage = readText(f[8]!);
  if (statusMessage !== null) span.statusMessage = statusMessage;
  const scopeName = readText(f[12]!);
  if (scopeName !== null) span.scopeName = scopeName;
  const owner: ResolvedOwner = {
    agentId: readText(f[13]!) ?? undefined,
    statusEventsSeen: Number(f[15]),
    agentLive: f[16] === '1',
  };
  const parentAgentId = readText(f[14]!);
  if (parentAgentId !== null) owner.parentAgentId = parentAgentId;
  return { span, owner, cost: f[17] === '' ? null : { costUsd: Number(f[17]), priced: f[18] === '1' } };
}
