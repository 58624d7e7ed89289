/**
 * google.rpc.Status, the body OTLP/HTTP error responses carry (opentelemetry-proto
 * docs/specification.md, "Failures"): `code` (1), `message` (2) and `details` (3, google.protobuf.Any).
 * Over gRPC the same message travels in the `grpc-status-details-bin` trailer, and its one detail
 * the OTLP spec names is google.rpc.RetryInfo: the delay an exporter waits before retrying a
 * throttled request ("OTLP/gRPC Throttling").
 */
import { Buffer } from 'node:buffer';
import protobuf from 'protobufjs';

const Any = new protobuf.Type('Any').add(new protobuf.Field('typeUrl', 1, 'string')).add(new protobuf.Field('value', 2, 'bytes'));
const Duration = new protobuf.Type('Duration').add(new protobuf.Field('seconds', 1, 'int64')).add(new protobuf.Field('nanos', 2, 'int32'));
const RetryInfo = new protobuf.Type('RetryInfo').add(new protobuf.Field('retryDelay', 1, 'google.protobuf.Duration'));
const RpcStatus = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'))
  .add(new protobuf.Field('details', 3, 'google.protobuf.Any', 'repeated'));
const root = new protobuf.Root();
root.define('google.protobuf').add(Any).add(Duration);
root.define('google.rpc').add(RpcStatus).add(RetryInfo);
root.resolveAll();

export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

function bytes(m: Uint8Array): Buffer {
  return Buffer.from(m.buffer, m.byteOffset, m.byteLength);
}

/** The `grpc-status-details-bin` value for a throttled request: Status{code, message, [RetryInfo]}. */
export function encodeRetryStatus(grpcCode: number, message: string, retryDelayMs: number): Buffer {
  const seconds = Math.floor(retryDelayMs / 1000);
  const retry = RetryInfo.encode({ retryDelay: { seconds, nanos: Math.round((retryDelayMs - seconds * 1000) * 1e6) } }).finish();
  return bytes(RpcStatus.encode({ code: grpcCode, message: message.slice(0, 4096), details: [{ typeUrl: RETRY_INFO_TYPE_URL, value: retry }] }).finish());
}

/** The retry delay in a Status's RetryInfo detail, in ms; undefined when there is none. */
export function retryDelayMsOf(statusBytes: Uint8Array): number | undefined {
  const status = RpcStatus.decode(statusBytes) as unknown as { details?: { typeUrl: string; value: Uint8Array }[] };
  const detail = status.details?.find((d) => d.typeUrl === RETRY_INFO_TYPE_URL);
  if (!detail) return undefined;
  const info = RetryInfo.toObject(RetryInfo.decode(detail.value), { longs: Number, defaults: true }) as { retryDelay?: { seconds: number; nanos: number } };
  return info.retryDelay ? info.retryDelay.seconds * 1000 + info.retryDelay.nanos / 1e6 : 0;
}

/** gRPC status codes for the HTTP answers the receiver gives. */
export function grpcCodeFor(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
    case 415:
      return 3; // INVALID_ARGUMENT
    case 401:
      return 16; // UNAUTHENTICATED
    case 404:
    case 405:
      return 12; // UNIMPLEMENTED
    case 413:
      return 8; // RESOURCE_EXHAUSTED
    case 429:
    case 503:
      return 14; // UNAVAILABLE
    default:
      return 13; // INTERNAL
  }
}

/** The Status an HTTP answer carries, as an object (its JSON encoding is this object). */
export function rpcStatus(httpStatus: number, message: string): { code: number; message: string } {
  return { code: grpcCodeFor(httpStatus), message: message.slice(0, 4096) };
}

export function encodeRpcStatus(httpStatus: number, message: string, contentType: 'json' | 'protobuf'): Buffer | string {
  const status = rpcStatus(httpStatus, message);
  if (contentType === 'json') return JSON.stringify(status);
  return bytes(RpcStatus.encode(status).finish());
}

/** Reads a protobuf google.rpc.Status (tests, and clients of the collector). */
export function decodeRpcStatus(bytes: Uint8Array): { code: number; message: string } {
  const m = RpcStatus.toObject(RpcStatus.decode(bytes), { defaults: true }) as { code: number; message: string };
  return { code: m.code, message: m.message };
}
