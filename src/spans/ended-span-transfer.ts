/**
 * An ended span as the agent's thread hands it to the writer thread: a run of primitives in the
 * write batch's flat array (op-codec.ts). The agent's thread only resolves the owner, serialises
 * the attributes once (the `spans` row stores that very JSON) and appends; the mapping to rows
 * (endedSpanOps) runs in the writer thread. That is what keeps a recorded model call near the cost
 * of a bare OTel span on the agent's thread.
 */
import type { ResolvedOwner } from './span-ops.js';
import type { Attributes, SpanData, SpanEventData, SpanLinkData } from './span-data.js';
import { resourceJson, toJson } from './mapping.js';

/** The price the agent's thread already settled for a model call (see SpanConversion), so the writer needs no price table. */
export interface SettledCost {
  costUsd: number;
  priced: boolean;
}

/** Values per ended span in the flat array. */
export const ENDED_SPAN_WIDTH = 20;

/** Appends one ended span, its owner and its settled cost (null: none) to `out`. */
export function encodeEndedSpan(span: SpanData, owner: ResolvedOwner, cost: SettledCost | null, out: unknown[]): void {
  out.push(
    span.traceId,
    span.spanId,
    span.parentSpanId ?? null,
    span.name,
    span.kind,
    span.startTimeUnixNano,
    span.endTimeUnixNano ?? null,
    span.statusCode,
    span.statusMessage ?? null,
    toJson(span.attributes),
    // Events and links are rare on model calls: structured clone copies them as they are.
    span.events.length === 0 ? null : span.events,
    span.links.length === 0 ? null : span.links,
    resourceJson(span.resource),
    span.scopeName ?? null,
    owner.agentId ?? null,
    owner.parentAgentId ?? null,
    owner.statusEventsSeen ?? 0,
    owner.agentLive ?? false,
    cost === null ? null : cost.costUsd,
    cost === null ? false : cost.priced,
  );
}

export interface DecodedEndedSpan {
  span: SpanData;
  owner: ResolvedOwner;
  cost: SettledCost | null;
  /** The JSON the agent's thread made of the attributes, stored as is. */
  attributesJson: string;
}

/** Parsed resources by their JSON: every span of a process shares one object (and its cached JSON). */
const resources = new Map<string, Attributes>();

function resourceOf(json: string): Attributes {
  let r = resources.get(json);
  if (r === undefined) {
    r = JSON.parse(json) as Attributes;
    // Resources are few; a sender that varies them per span must not grow this without bound.
    if (resources.size >= 1024) resources.clear();
    resources.set(json, r);
  }
  return r;
}

/** Reads the ended span that starts at `at` (just past its op code). */
export function decodeEndedSpan(data: readonly unknown[], at: number): DecodedEndedSpan {
  const attributesJson = data[at + 9] as string;
  const span: SpanData = {
    traceId: data[at] as string,
    spanId: data[at + 1] as string,
    name: data[at + 3] as string,
    kind: data[at + 4] as number,
    startTimeUnixNano: data[at + 5] as bigint,
    statusCode: data[at + 7] as number,
    attributes: JSON.parse(attributesJson) as Attributes,
    events: (data[at + 10] as SpanEventData[] | null) ?? [],
    links: (data[at + 11] as SpanLinkData[] | null) ?? [],
    resource: resourceOf(data[at + 12] as string),
  };
  if (data[at + 2] !== null) span.parentSpanId = data[at + 2] as string;
  if (data[at + 6] !== null) span.endTimeUnixNano = data[at + 6] as bigint;
  if (data[at + 8] !== null) span.statusMessage = data[at + 8] as string;
  if (data[at + 13] !== null) span.scopeName = data[at + 13] as string;
  const owner: ResolvedOwner = {
    agentId: (data[at + 14] as string | null) ?? undefined,
    statusEventsSeen: data[at + 16] as number,
    agentLive: data[at + 17] as boolean,
  };
  if (data[at + 15] !== null) owner.parentAgentId = data[at + 15] as string;
  const costUsd = data[at + 18] as number | null;
  return { span, owner, cost: costUsd === null ? null : { costUsd, priced: data[at + 19] as boolean }, attributesJson };
}
