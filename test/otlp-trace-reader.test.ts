/**
 * The hand-written protobuf trace reader (src/collector/otlp/trace-reader.ts) against the
 * reference: protobufjs decoding the same bytes, converted to OTLP JSON and read by the JSON
 * path of decode.ts (the walker the protobuf path used before). Random requests (ids good and bad,
 * every AnyValue kind, events, links, status, times past 2^63), each also written the way the
 * protobuf spec allows and our fixtures never do: fields shuffled, repeated fields interleaved,
 * unknown fields of every wire type (groups included), non-minimal varints. Then every prefix of
 * a request (truncation), random byte corruption, and the caps.
 */
import { describe, expect, it } from 'vitest';
import { decodeTraces, OtlpDecodeError, type DecodeOptions, type DecodedTraces } from '../src/collector/otlp/decode.js';
import { ExportTraceServiceRequest } from '../src/collector/otlp/proto.js';
import { rng } from './helpers.js';

type Obj = Record<string, unknown>;
type Kind = 'string' | 'bytes' | 'varint' | 'bool' | 'fixed64' | 'fixed32' | 'double' | string;

/** Field number, kind (a scalar or a message type below), repeated. From opentelemetry-proto. */
const SCHEMA: Record<string, Record<string, [number, Kind, boolean?]>> = {
  Request: { resourceSpans: [1, 'ResourceSpans', true] },
  ResourceSpans: { resource: [1, 'Resource'], scopeSpans: [2, 'ScopeSpans', true], schemaUrl: [3, 'string'] },
  Resource: { attributes: [1, 'KeyValue', true], droppedAttributesCount: [2, 'varint'] },
  ScopeSpans: { scope: [1, 'Scope'], spans: [2, 'Span', true], schemaUrl: [3, 'string'] },
  Scope: { name: [1, 'string'], version: [2, 'string'], attributes: [3, 'KeyValue', true] },
  Span: {
    traceId: [1, 'bytes'], spanId: [2, 'bytes'], traceState: [3, 'string'], parentSpanId: [4, 'bytes'], name: [5, 'string'],
    kind: [6, 'varint'], startTimeUnixNano: [7, 'fixed64'], endTimeUnixNano: [8, 'fixed64'], attributes: [9, 'KeyValue', true],
    droppedAttributesCount: [10, 'varint'], events: [11, 'Event', true], links: [13, 'Link', true], status: [15, 'Status'], flags: [16, 'fixed32'],
  },
  Event: { timeUnixNano: [1, 'fixed64'], name: [2, 'string'], attributes: [3, 'KeyValue', true] },
  Link: { traceId: [1, 'bytes'], spanId: [2, 'bytes'], traceState: [3, 'string'], attributes: [4, 'KeyValue', true], flags: [6, 'fixed32'] },
  Status: { message: [2, 'string'], code: [3, 'varint'] },
  KeyValue: { key: [1, 'string'], value: [2, 'AnyValue'] },
  AnyValue: {
    stringValue: [1, 'string'], boolValue: [2, 'bool'], intValue: [3, 'varint'], doubleValue: [4, 'double'],
    arrayValue: [5, 'ArrayValue'], kvlistValue: [6, 'KeyValueList'], bytesValue: [7, 'bytes'],
  },
  ArrayValue: { values: [1, 'AnyValue', true] },
  KeyValueList: { values: [1, 'KeyValue', true] },
};

// --- random requests, in protobufjs object form ----------------------------------------------

function generator(seed: number) {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));
  const text = (): string => pick(['', 'chat', 'gen_ai.request.model', 'claude-sonnet-4-5', 'é✓ unicode 日本', 'x'.repeat(60), `k${int(1000)}`, '__proto__']);
  const anyValue = (depth: number): Obj => {
    switch (int(depth > 2 ? 6 : 8)) {
      case 0: return { stringValue: text() };
      case 1: return { boolValue: r() < 0.5 };
      case 2: return { intValue: pick(['0', '-1', '42', '9007199254740993', '-9223372036854775808', '9223372036854775807', String(int(1e9))]) };
      case 3: return { doubleValue: pick([0.5, -3.25, 1e300, 0, 123456.789]) };
      case 4: return { bytesValue: bytes(int(12)) };
      case 5: return {};
      case 6: return { arrayValue: { values: Array.from({ length: int(4) }, () => anyValue(depth + 1)) } };
      default: return { kvlistValue: { values: Array.from({ length: int(4) }, () => keyValue(depth + 1)) } };
    }
  };
  const keyValue = (depth: number): Obj => (r() < 0.05 ? { key: text() } : { key: text(), value: anyValue(depth) });
  const attributes = (): Obj[] => Array.from({ length: int(6) }, () => keyValue(0));
  const id = (n: number, optional: boolean): Uint8Array | undefined => {
    const x = r();
    if (x < 0.04) return bytes(n - 1);
    if (x < 0.07) return new Uint8Array(n);
    if (optional && x < 0.4) return undefined;
    if (x < 0.09) return undefined;
    return bytes(n);
  };
  const time = (): string => pick(['1700000000000000001', '1760000000123456789', '0', '18446744073709551615', '9223372036854775808', String(1_700_000_000_000_000_000n + BigInt(int(1e9)))]);
  const span = (): Obj => {
    const s: Obj = { traceId: id(16, false), spanId: id(8, false), parentSpanId: id(8, true), name: text(), kind: pick([0, 1, 2, 3, 5, 7]), startTimeUnixNano: time(), attributes: attributes() };
    if (r() < 0.8) s.endTimeUnixNano = time();
    if (r() < 0.4) s.events = Array.from({ length: int(3) }, () => ({ timeUnixNano: time(), name: text(), attributes: attributes() }));
    if (r() < 0.3) s.links = Array.from({ length: int(3) }, () => ({ traceId: id(16, false), spanId: id(8, false), attributes: attributes(), traceState: 'a=b' }));
    if (r() < 0.5) s.status = { code: pick([0, 1, 2, 3]), message: pick(['', 'boom']) };
    if (r() < 0.3) s.flags = 0x301;
    if (r() < 0.2) s.traceState = 'k=v';
    for (const k of Object.keys(s)) if (s[k] === undefined) delete s[k];
    return s;
  };
  return (): Obj => ({
    resourceSpans: Array.from({ length: 1 + int(3) }, () => {
      const rs: Obj = { scopeSpans: Array.from({ length: int(3) }, () => {
        const ss: Obj = { spans: Array.from({ length: int(5) }, span) };
        if (r() < 0.7) ss.scope = r() < 0.5 ? { name: text(), version: text() } : { name: text() };
        return ss;
      }) };
      if (r() < 0.8) rs.resource = { attributes: attributes(), droppedAttributesCount: int(3) };
      if (r() < 0.3) rs.schemaUrl = 'https://opentelemetry.io/schemas/1.26.0';
      return rs;
    }),
  });
}

const canonical = (tree: Obj): Buffer => Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(tree)).finish());

// --- the reference: protobufjs, then the JSON path ---------------------------------------------

function hexIds(o: unknown): void {
  if (Array.isArray(o)) return o.forEach(hexIds);
  if (typeof o !== 'object' || o === null) return;
  const rec = o as Obj;
  for (const k of ['traceId', 'spanId', 'parentSpanId']) {
    if (typeof rec[k] === 'string') rec[k] = Buffer.from(rec[k] as string, 'base64').toString('hex');
  }
  for (const v of Object.values(rec)) hexIds(v);
}

/** Throws what protobufjs throws; else what the JSON path makes of the same message. */
function reference(body: Uint8Array, options?: DecodeOptions): DecodedTraces {
  const message = ExportTraceServiceRequest.decode(body);
  const json = ExportTraceServiceRequest.toObject(message, { longs: String, enums: Number, bytes: String, json: true });
  // Ids are hex in OTLP JSON, other bytes base64. (bytesValue stays base64.)
  hexIds(json.resourceSpans);
  return decodeTraces(Buffer.from(JSON.stringify(json)), 'json', options);
}

// --- the same tree written as the spec allows ---------------------------------------------------

function varint(n: bigint, out: number[], pad: boolean): void {
  let v = BigInt.asUintN(64, n);
  // A varint has at most 10 bytes: only shorter ones can take a redundant group.
  if (v >= 1n << 63n) pad = false;
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n || pad ? b | 0x80 : b);
  } while (v > 0n);
  if (pad) out.push(0); // a non-minimal but valid varint: one redundant zero group
}

function unknownField(r: () => number, out: number[]): void {
  const field = 100 + Math.floor(r() * 900);
  switch (Math.floor(r() * 5)) {
    case 0: varint(BigInt((field << 3) | 0), out, false); varint(-5n, out, false); break;
    case 1: varint(BigInt((field << 3) | 1), out, false); out.push(1, 2, 3, 4, 5, 6, 7, 8); break;
    case 2: varint(BigInt((field << 3) | 2), out, false); out.push(3, 0x0a, 1, 0x41); break;
    case 3: varint(BigInt((field << 3) | 5), out, false); out.push(9, 9, 9, 9); break;
    default: // a group, with a nested group and a field inside
      varint(BigInt((field << 3) | 3), out, false);
      varint(BigInt((7 << 3) | 3), out, false);
      varint(BigInt((1 << 3) | 0), out, false); out.push(1);
      varint(BigInt((7 << 3) | 4), out, false);
      varint(BigInt((field << 3) | 4), out, false);
  }
}

function scrambled(type: string, obj: Obj, r: () => number): number[] {
  const fields = SCHEMA[type]!;
  const entries: { order: number; field: number; kind: Kind; value: unknown }[] = [];
  for (const [name, [field, kind, repeated]] of Object.entries(fields)) {
    const v = obj[name];
    if (v === undefined || v === null) continue;
    const values = repeated ? (v as unknown[]) : [v];
    // Random positions, but a repeated field's elements keep their order (their meaning).
    const orders = values.map(() => r()).sort((a, b) => a - b);
    values.forEach((value, i) => entries.push({ order: orders[i]!, field, kind, value }));
  }
  entries.sort((a, b) => a.order - b.order);
  const out: number[] = [];
  for (const e of entries) {
    if (r() < 0.15) unknownField(r, out);
    const pad = r() < 0.1;
    const wire = (wt: number): void => varint(BigInt((e.field << 3) | wt), out, r() < 0.05);
    switch (e.kind) {
      case 'varint': wire(0); varint(BigInt(e.value as string | number), out, pad); break;
      case 'bool': wire(0); varint(e.value ? 1n : 0n, out, pad); break;
      case 'fixed64': {
        wire(1);
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(e.value as string)));
        out.push(...b);
        break;
      }
      case 'fixed32': { wire(5); const b = Buffer.alloc(4); b.writeUInt32LE(e.value as number); out.push(...b); break; }
      case 'double': { wire(1); const b = Buffer.alloc(8); b.writeDoubleLE(e.value as number); out.push(...b); break; }
      case 'string': case 'bytes': {
        const b = typeof e.value === 'string' ? Buffer.from(e.value) : Buffer.from(e.value as Uint8Array);
        wire(2); varint(BigInt(b.length), out, pad); out.push(...b);
        break;
      }
      default: {
        const inner = scrambled(e.kind, e.value as Obj, r);
        wire(2); varint(BigInt(inner.length), out, pad); out.push(...inner);
      }
    }
  }
  if (r() < 0.15) unknownField(r, out);
  return out;
}

/**
 * Equal results. `dropped` (what the caps took; only logged) is compared when no span was
 * rejected: the walker counted what it had dropped from a span before rejecting it for its times,
 * the reader counts nothing of a rejected span.
 */
function expectSame(got: DecodedTraces, expected: DecodedTraces, what?: string): void {
  expect({ ...got, dropped: undefined }, what).toEqual({ ...expected, dropped: undefined });
  if (expected.rejected === 0) expect(got.dropped, what).toEqual(expected.dropped);
}

// ---------------------------------------------------------------------------------------------

describe('the protobuf trace reader', () => {
  it('decodes random requests exactly as protobufjs + the JSON path do, however the spec lets them be written', () => {
    const next = generator(12);
    const r = rng(34);
    let spans = 0;
    let rejected = 0;
    for (let i = 0; i < 300; i++) {
      const tree = next();
      const body = canonical(tree);
      const expected = reference(body);
      expectSame(decodeTraces(body, 'protobuf'), expected);
      const other = Buffer.from(scrambled('Request', tree, r));
      expectSame(decodeTraces(other, 'protobuf'), expected);
      spans += expected.spans.length;
      rejected += expected.rejected;
    }
    // The generator really covers both outcomes.
    expect(spans).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(100);
  });

  it('applies the caps as the JSON path does, and skips what is past them', () => {
    const limits = { maxAttributes: 3, maxArrayLength: 2, maxDepth: 2, maxStringLength: 5, maxEventsPerSpan: 1, maxLinksPerSpan: 1 };
    const next = generator(56);
    let dropped = 0;
    for (let i = 0; i < 200; i++) {
      const body = canonical(next());
      const expected = reference(body, { limits });
      const got = decodeTraces(body, 'protobuf', { limits });
      expectSame(got, expected);
      dropped += got.dropped.attributes + got.dropped.values + got.dropped.events + got.dropped.links;
    }
    expect(dropped).toBeGreaterThan(100);
  });

  it('every prefix of a request: a 400 exactly where protobufjs fails, else the same spans', () => {
    const next = generator(78);
    for (let i = 0; i < 6; i++) {
      const body = canonical(next());
      for (let n = 0; n <= body.length; n++) {
        const prefix = body.subarray(0, n);
        let expected: DecodedTraces | undefined;
        try {
          expected = reference(prefix);
        } catch {
          expected = undefined;
        }
        if (expected === undefined) expect(() => decodeTraces(prefix, 'protobuf'), `prefix ${n}/${body.length}`).toThrow(OtlpDecodeError);
        else expectSame(decodeTraces(prefix, 'protobuf'), expected, `prefix ${n}/${body.length}`);
      }
    }
  });

  it('corrupt bytes give a result or an OtlpDecodeError, never another error', () => {
    const next = generator(90);
    const r = rng(91);
    let failed = 0;
    for (let i = 0; i < 400; i++) {
      const body = Buffer.from(canonical(next()));
      for (let k = 0; k < 1 + Math.floor(r() * 4); k++) body[Math.floor(r() * body.length)] = Math.floor(r() * 256);
      try {
        const { spans } = decodeTraces(body, 'protobuf');
        for (const s of spans) expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      } catch (err) {
        expect(err).toBeInstanceOf(OtlpDecodeError);
        failed++;
      }
    }
    expect(failed).toBeGreaterThan(0);
  });

  it('follows the wire format where protobufjs is lenient: field 0, wire types 6 and 7, 11-byte varints, unterminated groups', () => {
    for (const bytes of [[0x02, 0x00], [0x0e], [0x0f], [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x0b, 0x08, 0x01]]) {
      expect(() => decodeTraces(Buffer.from(bytes), 'protobuf'), Buffer.from(bytes).toString('hex')).toThrow(OtlpDecodeError);
    }
  });

  it('merges a resource sent twice and reads a resource, scope or status sent after what it describes', () => {
    const kv = (key: string, value: string): number[] => {
      const k = [...Buffer.from(key)];
      const v = [...Buffer.from(value)];
      const any = [0x0a, v.length, ...v];
      return [0x0a, k.length, ...k, 0x12, any.length, ...any];
    };
    const msg = (field: number, body: number[]): number[] => [(field << 3) | 2, body.length, ...body];
    const span = [
      ...msg(15, [0x18, 0x02, ...msg(2, [...Buffer.from('bad')])]), // status first: code ERROR, message
      ...msg(5, [...Buffer.from('late')]),
      0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // kind = -1 as a 10-byte varint
      ...msg(2, [1, 2, 3, 4, 5, 6, 7, 8]),
      ...msg(1, Array.from({ length: 16 }, (_, i) => i + 1)),
    ];
    const scopeSpans = [...msg(2, span), ...msg(1, [...msg(1, [...Buffer.from('scope')]), ...msg(2, [...Buffer.from('1.0')])])];
    const resourceSpans = [...msg(2, scopeSpans), ...msg(1, msg(1, kv('a', '1'))), ...msg(1, msg(1, kv('b', '2')))];
    const { spans } = decodeTraces(Buffer.from(msg(1, resourceSpans)), 'protobuf');
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({
      traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708', name: 'late', kind: 0,
      statusCode: 2, statusMessage: 'bad', scopeName: 'scope', scopeVersion: '1.0', resource: { a: '1', b: '2' },
    });
  });
});
