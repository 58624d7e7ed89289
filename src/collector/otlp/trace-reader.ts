/**
 * A protobuf ExportTraceServiceRequest read straight from the wire into SpanData: the collector's
 * hot path (OTLP/HTTP protobuf and OTLP/gRPC). protobufjs first materialises every message (one
 * object per KeyValue and AnyValue, a Long per 64-bit field) and decode.ts then walks that tree a
 * second time; reading the fields we use in one pass was several times cheaper per span
 * (docs/performance.md, "The collector's HTTP thread").
 *
 * Built to the protobuf encoding spec, not to what one exporter happens to send: fields in any
 * order, repeated fields interleaved with others, a singular message field sent twice is merged
 * (resource attributes add up, scalars: the last one wins), unknown fields and known fields of an
 * unexpected wire type are skipped (as protobuf's own C++ and Go parsers do), groups included.
 * Field numbers: opentelemetry-proto common/v1, resource/v1, trace/v1 and collector/trace/v1.
 *
 * Same results and error policy as the walker in decode.ts (the JSON path): a body whose framing is
 * broken (truncated, a length past its message, a bad wire type, a varint over 10 bytes) throws
 * OtlpDecodeError, which is a 400; a span with bad ids or times is rejected and counted (partial
 * success) and the rest is kept. The limits apply while reading: what is past a cap (attributes,
 * events, links, array elements, values nested deeper than maxDepth) is skipped by its length,
 * not decoded, so a hostile body costs little more than reading its tags.
 */
import { Buffer } from 'node:buffer';
import type { AttributeValue, Attributes, SpanData, SpanEventData, SpanLinkData } from '../../spans/span-data.js';
import {
  apiSpanKind,
  capString,
  checkSpanTimes,
  Ctx,
  intAttribute,
  InvalidItem,
  OtlpDecodeError,
  setAttribute,
  withOptionalSpanFields,
  type DecodeDrops,
  type DecodedTraces,
  type DecodeOptions,
} from './decode-context.js';

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
const I32 = 5;

/** The body's framing is broken: the whole request is a 400. */
class WireError extends Error {}

/** Strings this long or shorter are looked up in the string cache (attribute keys, model names, ...). */
const CACHED_MAX = 48;
const CACHE_SLOTS = 4096;

/**
 * Recently read short ASCII strings, by a hash of their bytes. Received spans repeat the same keys
 * and low-cardinality values thousands of times; a cached string costs no decoding, and a key that
 * V8 has already internalised costs no second internalisation when it becomes a property name.
 * Bounded: one string per slot, at most CACHED_MAX characters.
 */
const stringCache: string[] = new Array<string>(CACHE_SLOTS).fill('');

/** Buffer's own slicers, which skip toString's encoding dispatch (public on Buffer.prototype since Node 0.x, untyped). */
type SlicingBuffer = Buffer & { utf8Slice(start: number, end: number): string; hexSlice(start: number, end: number): string };

/** The reading position in one request body. */
class Wire {
  readonly buf: SlicingBuffer;
  readonly view: DataView;
  pos = 0;

  constructor(body: Uint8Array) {
    this.buf = (Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)) as SlicingBuffer;
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  }

  /** The low 32 bits of a varint of up to 10 bytes, unsigned (tags, lengths, enums, bools). */
  varint32(): number {
    const buf = this.buf;
    let p = this.pos;
    if (p + 10 > buf.length) return this.varint32Checked();
    let b = buf[p++]!;
    let v = b & 0x7f;
    if (b >= 0x80) {
      b = buf[p++]!;
      v |= (b & 0x7f) << 7;
      if (b >= 0x80) {
        b = buf[p++]!;
        v |= (b & 0x7f) << 14;
        if (b >= 0x80) {
          b = buf[p++]!;
          v |= (b & 0x7f) << 21;
          if (b >= 0x80) {
            b = buf[p++]!;
            v |= b << 28;
            // A negative int32 (an enum) is sign-extended to 10 bytes: the rest is sign bits.
            for (let i = 0; b >= 0x80; i++) {
              if (i === 5) throw new WireError(`varint longer than 10 bytes at byte ${this.pos}`);
              b = buf[p++]!;
            }
          }
        }
      }
    }
    this.pos = p;
    return v >>> 0;
  }

  /** varint32 near the end of the buffer, where every byte read is bounds-checked. */
  private varint32Checked(): number {
    let v = 0;
    for (let i = 0; ; i++) {
      if (i === 10) throw new WireError(`varint longer than 10 bytes at byte ${this.pos}`);
      if (this.pos >= this.buf.length) throw new WireError('truncated varint');
      const b = this.buf[this.pos++]!;
      if (i < 5) v |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return v >>> 0;
    }
  }

  /** An int64 varint as an attribute value: a number when it is a safe integer, else decimal text. */
  int64Attribute(): number | string {
    let lo = 0;
    let hi = 0;
    let b = 0x80;
    let i = 0;
    for (; i < 4; i++) {
      b = this.byte();
      lo |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return lo;
    }
    b = this.byte();
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >>> 4;
    for (i = 0; b >= 0x80; i++) {
      if (i === 5) throw new WireError(`varint longer than 10 bytes at byte ${this.pos}`);
      b = this.byte();
      hi |= (b & 0x7f) << (7 * i + 3);
    }
    lo >>>= 0;
    hi >>>= 0;
    if (hi < 0x200000) return hi * 4294967296 + lo;
    return intAttribute(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)));
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw new WireError('truncated varint');
    return this.buf[this.pos++]!;
  }

  /** The length of a length-delimited field; its bytes must lie inside the enclosing message. */
  len(end: number): number {
    const n = this.varint32();
    if (n > end - this.pos) throw new WireError(`a field of ${n} bytes at byte ${this.pos} runs past the end of its message`);
    return n;
  }

  fixed64(end: number): bigint {
    if (this.pos + 8 > end) throw new WireError('truncated fixed64');
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  double(end: number): number {
    if (this.pos + 8 > end) throw new WireError('truncated double');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited UTF-8 string. */
  string(end: number): string {
    const n = this.len(end);
    const start = this.pos;
    this.pos += n;
    if (n === 0) return '';
    const buf = this.buf;
    if (n > CACHED_MAX) return buf.utf8Slice(start, start + n);
    // A hash of a few bytes picks the slot; the full comparison below decides.
    const slot = (Math.imul(n ^ (buf[start]! << 8) ^ (buf[start + n - 1]! << 16) ^ (buf[start + (n >> 1)]! << 24) ^ buf[start + (n >> 2)]!, 0x9e3779b1) >>> 20) & (CACHE_SLOTS - 1);
    const cached = stringCache[slot]!;
    if (cached.length === n) {
      let i = 0;
      while (i < n && cached.charCodeAt(i) === buf[start + i]) i++;
      if (i === n) return cached;
    }
    const s = buf.utf8Slice(start, start + n);
    // One character per byte: ASCII (or U+FFFD for a stray byte, which never matches a byte above).
    if (s.length === n) stringCache[slot] = s;
    return s;
  }

  /** Skips one field's value of wire type `wt`. */
  skip(wt: number, end: number): void {
    switch (wt) {
      case VARINT:
        for (let i = 0; ; i++) {
          if (i === 10) throw new WireError(`varint longer than 10 bytes at byte ${this.pos}`);
          if (this.byte() < 0x80) break;
        }
        break;
      case I64:
        this.pos += 8;
        break;
      case LEN: {
        // Not `this.pos += this.len(end)`: that would add to the position before the length was read.
        const n = this.len(end);
        this.pos += n;
        break;
      }
      case I32:
        this.pos += 4;
        break;
      case SGROUP: {
        // Deprecated groups still frame correctly: skip to the matching end-group tag.
        let depth = 1;
        while (depth > 0) {
          if (this.pos >= end) throw new WireError('unterminated group');
          const tag = this.varint32();
          const inner = tag & 7;
          if (inner === SGROUP) depth++;
          else if (inner === EGROUP) depth--;
          else this.skip(inner, end);
        }
        break;
      }
      default:
        throw new WireError(`invalid wire type ${wt} at byte ${this.pos}`);
    }
    if (this.pos > end) throw new WireError('a field runs past the end of its message');
  }

  /** After a message's last field: a varint that ran past its end means broken framing. */
  ended(end: number): void {
    if (this.pos !== end) throw new WireError(`a field runs past the end of its message at byte ${end}`);
  }

  /** The next tag of a message ending at `end`; its field number must be valid. */
  tag(): number {
    const tag = this.varint32();
    if (tag >>> 3 === 0) throw new WireError(`field number 0 at byte ${this.pos}`);
    return tag;
  }
}

const TAG_LEN = (field: number): number => (field << 3) | LEN;

/** Where a sub-message (or bytes field) lies: [start, end) in the body. */
interface Range {
  start: number;
  end: number;
}

/** Reads a length-delimited field's bounds and moves past it. */
function range(w: Wire, end: number): Range {
  const n = w.len(end);
  const start = w.pos;
  w.pos += n;
  return { start, end: start + n };
}

// ---------------------------------------------------------------------------------------------
// AnyValue / KeyValue

function anyValue(w: Wire, end: number, ctx: Ctx, depth: number): AttributeValue {
  let out: AttributeValue = null;
  while (w.pos < end) {
    const tag = w.tag();
    switch (tag) {
      case TAG_LEN(1): // string_value
        out = capString(w.string(end), ctx);
        break;
      case (2 << 3) | VARINT: // bool_value
        out = w.varint32() !== 0;
        break;
      case (3 << 3) | VARINT: // int_value
        out = w.int64Attribute();
        break;
      case (4 << 3) | I64: // double_value
        out = w.double(end);
        break;
      case TAG_LEN(5): // array_value
      case TAG_LEN(6): {
        // kvlist_value
        const n = w.len(end);
        if (depth >= ctx.limits.maxDepth) {
          ctx.dropped.values += 1;
          w.pos += n;
          out = null;
        } else out = tag === TAG_LEN(5) ? arrayValue(w, w.pos + n, ctx, depth + 1) : kvList(w, w.pos + n, ctx, depth + 1);
        break;
      }
      case TAG_LEN(7): // bytes_value
        out = base64(w, end, ctx);
        break;
      default:
        w.skip(tag & 7, end);
    }
  }
  w.ended(end);
  return out;
}

/** Bytes become base64 text, as in decode.ts: AttributeValue has no bytes type. */
function base64(w: Wire, end: number, ctx: Ctx): string {
  const r = range(w, end);
  const maxBytes = Math.floor((ctx.limits.maxStringLength / 4) * 3);
  let stop = r.end;
  if (stop - r.start > maxBytes) {
    ctx.dropped.values += 1;
    stop = r.start + maxBytes;
  }
  return w.buf.toString('base64', r.start, stop);
}

/**
 * Each item (field 1) of an ArrayValue or KeyValueList, handed to `read` with its end, up to the
 * array length limit; the rest are skipped and counted as dropped, other fields skipped.
 */
function eachItem(w: Wire, end: number, ctx: Ctx, read: (itemEnd: number) => void): void {
  let count = 0;
  while (w.pos < end) {
    const tag = w.tag();
    if (tag !== TAG_LEN(1)) {
      w.skip(tag & 7, end);
      continue;
    }
    const n = w.len(end);
    if (count >= ctx.limits.maxArrayLength) {
      ctx.dropped.values += 1;
      w.pos += n;
    } else {
      count++;
      read(w.pos + n);
    }
  }
  w.ended(end);
}

function arrayValue(w: Wire, end: number, ctx: Ctx, depth: number): AttributeValue[] {
  const out: AttributeValue[] = [];
  eachItem(w, end, ctx, (itemEnd) => out.push(anyValue(w, itemEnd, ctx, depth)));
  return out;
}

function kvList(w: Wire, end: number, ctx: Ctx, depth: number): Attributes {
  const out: Attributes = {};
  eachItem(w, end, ctx, (itemEnd) => keyValue(w, itemEnd, ctx, depth, out));
  return out;
}

/** One KeyValue into `out` (key and value in either order; a missing value is null). */
function keyValue(w: Wire, end: number, ctx: Ctx, depth: number, out: Attributes): void {
  let key = '';
  let valueStart = -1;
  let valueEnd = -1;
  while (w.pos < end) {
    const tag = w.tag();
    if (tag === TAG_LEN(1)) key = w.string(end);
    else if (tag === TAG_LEN(2)) {
      const n = w.len(end);
      valueStart = w.pos;
      valueEnd = w.pos + n;
      w.pos = valueEnd;
    } else w.skip(tag & 7, end);
  }
  w.ended(end);
  let value: AttributeValue = null;
  if (valueStart >= 0) {
    w.pos = valueStart;
    value = anyValue(w, valueEnd, ctx, depth);
    w.pos = end;
  }
  setAttribute(out, capString(key, ctx), value);
}

/**
 * One `repeated KeyValue attributes` entry of an attribute set; `count` is how many entries the
 * set has taken so far (the cap counts entries, as decode.ts does). Returns the new count.
 */
function attribute(w: Wire, end: number, ctx: Ctx, out: Attributes, count: number): number {
  const n = w.len(end);
  if (count >= ctx.limits.maxAttributes) {
    ctx.dropped.attributes += 1;
    w.pos += n;
    return count;
  }
  keyValue(w, w.pos + n, ctx, 0, out);
  return count + 1;
}

// ---------------------------------------------------------------------------------------------
// Ids

/**
 * A trace or span id as lowercase hex, with decode.ts's rules: `optional` ids (the parent) may be
 * absent, empty or all zero, which all mean "none"; required ones must have the right length and
 * must not be all zero.
 */
function id(buf: SlicingBuffer, r: Range | undefined, bytes: number, what: string, optional: boolean): string | undefined {
  const n = r === undefined ? 0 : r.end - r.start;
  let zero = true;
  for (let i = 0; i < n && zero; i++) if (buf[r!.start + i] !== 0) zero = false;
  if (optional && zero) return undefined;
  if (n !== bytes) throw new InvalidItem(`${what} must be ${bytes} bytes, got ${n}`);
  if (zero) throw new InvalidItem(`${what} must not be all zero`);
  return buf.hexSlice(r!.start, r!.end);
}

// ---------------------------------------------------------------------------------------------
// Spans

interface Scope {
  name: string;
  version: string;
}

function saveDrops(d: DecodeDrops): DecodeDrops {
  return { attributes: d.attributes, events: d.events, links: d.links, values: d.values };
}

function restoreDrops(d: DecodeDrops, saved: DecodeDrops): void {
  d.attributes = saved.attributes;
  d.events = saved.events;
  d.links = saved.links;
  d.values = saved.values;
}

function event(w: Wire, end: number, ctx: Ctx): SpanEventData {
  let name = '';
  let time = 0n;
  const attributes: Attributes = {};
  let nAttributes = 0;
  while (w.pos < end) {
    const tag = w.tag();
    if (tag === ((1 << 3) | I64)) time = w.fixed64(end);
    else if (tag === TAG_LEN(2)) name = w.string(end);
    else if (tag === TAG_LEN(3)) nAttributes = attribute(w, end, ctx, attributes, nAttributes);
    else w.skip(tag & 7, end);
  }
  w.ended(end);
  return { name: capString(name, ctx), timeUnixNano: time, attributes };
}

/** A link, or undefined when its ids are unusable (dropped and counted: the span is kept). */
function link(w: Wire, end: number, ctx: Ctx): SpanLinkData | undefined {
  const saved = saveDrops(ctx.dropped);
  let traceId: Range | undefined;
  let spanId: Range | undefined;
  const attributes: Attributes = {};
  let nAttributes = 0;
  while (w.pos < end) {
    const tag = w.tag();
    if (tag === TAG_LEN(1)) traceId = range(w, end);
    else if (tag === TAG_LEN(2)) spanId = range(w, end);
    else if (tag === TAG_LEN(4)) nAttributes = attribute(w, end, ctx, attributes, nAttributes);
    else w.skip(tag & 7, end);
  }
  w.ended(end);
  try {
    return {
      traceId: id(w.buf, traceId, 16, 'link.traceId', false)!,
      spanId: id(w.buf, spanId, 8, 'link.spanId', false)!,
      attributes,
    };
  } catch (err) {
    if (!(err instanceof InvalidItem)) throw err;
    restoreDrops(ctx.dropped, saved);
    ctx.dropped.links += 1;
    return undefined;
  }
}

function span(w: Wire, end: number, ctx: Ctx, resource: Attributes, sc: Scope): SpanData {
  let traceId: Range | undefined;
  let spanId: Range | undefined;
  let parentSpanId: Range | undefined;
  let name = '';
  let kind = 0;
  let start = 0n;
  let endTime = 0n;
  const attributes: Attributes = {};
  let nAttributes = 0;
  const events: SpanEventData[] = [];
  let nEvents = 0;
  const links: SpanLinkData[] = [];
  let nLinks = 0;
  let statusCode = 0;
  let statusMessage = '';
  const limits = ctx.limits;
  while (w.pos < end) {
    const tag = w.tag();
    switch (tag) {
      case TAG_LEN(1):
        traceId = range(w, end);
        break;
      case TAG_LEN(2):
        spanId = range(w, end);
        break;
      case TAG_LEN(4):
        parentSpanId = range(w, end);
        break;
      case TAG_LEN(5):
        name = w.string(end);
        break;
      case (6 << 3) | VARINT:
        kind = w.varint32() | 0;
        break;
      case (7 << 3) | I64:
        start = w.fixed64(end);
        break;
      case (8 << 3) | I64:
        endTime = w.fixed64(end);
        break;
      case TAG_LEN(9):
        nAttributes = attribute(w, end, ctx, attributes, nAttributes);
        break;
      case TAG_LEN(11): {
        const n = w.len(end);
        if (nEvents++ >= limits.maxEventsPerSpan) {
          ctx.dropped.events += 1;
          w.pos += n;
        } else events.push(event(w, w.pos + n, ctx));
        break;
      }
      case TAG_LEN(13): {
        const n = w.len(end);
        if (nLinks++ >= limits.maxLinksPerSpan) {
          ctx.dropped.links += 1;
          w.pos += n;
        } else {
          const l = link(w, w.pos + n, ctx);
          if (l !== undefined) links.push(l);
        }
        break;
      }
      case TAG_LEN(15): {
        // Status: message = 2, code = 3 (1 is reserved).
        const n = w.len(end);
        const statusEnd = w.pos + n;
        while (w.pos < statusEnd) {
          const t = w.tag();
          if (t === TAG_LEN(2)) statusMessage = w.string(statusEnd);
          else if (t === ((3 << 3) | VARINT)) statusCode = w.varint32() | 0;
          else w.skip(t & 7, statusEnd);
        }
        w.ended(statusEnd);
        break;
      }
      default:
        w.skip(tag & 7, end);
    }
  }
  w.ended(end);
  // The same checks, in the same order, as decode.ts's convertSpan.
  const traceHex = id(w.buf, traceId, 16, 'traceId', false)!;
  const spanHex = id(w.buf, spanId, 8, 'spanId', false)!;
  const parentHex = id(w.buf, parentSpanId, 8, 'parentSpanId', true);
  checkSpanTimes(start, endTime);
  const out: SpanData = {
    traceId: traceHex,
    spanId: spanHex,
    name: capString(name, ctx),
    kind: apiSpanKind(kind),
    startTimeUnixNano: start,
    statusCode: statusCode >= 0 && statusCode <= 2 ? statusCode : 0,
    attributes,
    events,
    links,
    resource,
  };
  return withOptionalSpanFields(out, parentHex, endTime, statusMessage, sc, ctx);
}

/** The ranges of a message's length-delimited fields 1 and 2, in order, wherever they come; other fields skipped. */
function fields1And2(w: Wire, end: number): [Range[], Range[]] {
  const first: Range[] = [];
  const second: Range[] = [];
  while (w.pos < end) {
    const tag = w.tag();
    if (tag === TAG_LEN(1)) first.push(range(w, end));
    else if (tag === TAG_LEN(2)) second.push(range(w, end));
    else w.skip(tag & 7, end);
  }
  w.ended(end);
  return [first, second];
}

function scopeSpans(w: Wire, end: number, ctx: Ctx, resource: Attributes, where: string, sink: SpanData[]): void {
  // The scope may come after the spans: find both first.
  const [scopes, spans] = fields1And2(w, end);
  if (spans.length === 0) return;
  const sc: Scope = { name: '', version: '' };
  for (const r of scopes) {
    w.pos = r.start;
    while (w.pos < r.end) {
      const tag = w.tag();
      if (tag === TAG_LEN(1)) sc.name = w.string(r.end);
      else if (tag === TAG_LEN(2)) sc.version = w.string(r.end);
      else w.skip(tag & 7, r.end);
    }
    w.ended(r.end);
  }
  for (let i = 0; i < spans.length; i++) {
    const r = spans[i]!;
    w.pos = r.start;
    const saved = saveDrops(ctx.dropped);
    try {
      sink.push(span(w, r.end, ctx, resource, sc));
    } catch (err) {
      // A rejected span counts as rejected, not also as what the caps took from it.
      if (err instanceof InvalidItem) restoreDrops(ctx.dropped, saved);
      ctx.reject(1, `${where}.spans[${i}]`, err);
    }
  }
  w.pos = end;
}

function resourceSpans(w: Wire, end: number, ctx: Ctx, r: number, sink: SpanData[]): void {
  // The resource may come after its spans: find both first.
  const [resources, scopes] = fields1And2(w, end);
  // One Attributes object, shared by every span of the resource (as decode.ts does).
  const resource: Attributes = {};
  let nAttributes = 0;
  for (const res of resources) {
    w.pos = res.start;
    while (w.pos < res.end) {
      const tag = w.tag();
      if (tag === TAG_LEN(1)) nAttributes = attribute(w, res.end, ctx, resource, nAttributes);
      else w.skip(tag & 7, res.end);
    }
    w.ended(res.end);
  }
  for (let s = 0; s < scopes.length; s++) {
    const sr = scopes[s]!;
    w.pos = sr.start;
    scopeSpans(w, sr.end, ctx, resource, `resourceSpans[${r}].scopeSpans[${s}]`, sink);
  }
  w.pos = end;
}

/**
 * A protobuf ExportTraceServiceRequest -> SpanData, with decode.ts's results and error policy.
 * Throws OtlpDecodeError when the body is not a decodable request at all.
 */
export function readTraceRequest(body: Uint8Array, options?: DecodeOptions): DecodedTraces {
  const ctx = new Ctx(options);
  const spans: SpanData[] = [];
  const w = new Wire(body);
  const end = body.byteLength;
  let r = 0;
  try {
    while (w.pos < end) {
      const tag = w.tag();
      if (tag === TAG_LEN(1)) {
        const n = w.len(end);
        resourceSpans(w, w.pos + n, ctx, r++, spans);
      } else w.skip(tag & 7, end);
    }
    w.ended(end);
  } catch (err) {
    if (err instanceof WireError) {
      throw new OtlpDecodeError(`invalid protobuf ExportTraceServiceRequest: ${err.message}`, { cause: err });
    }
    throw err;
  }
  return { spans, rejected: ctx.rejected, errors: ctx.errors, dropped: ctx.dropped };
}
