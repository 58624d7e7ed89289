/**
 * google.rpc.Status, the body OTLP/HTTP error responses carry (opentelemetry-proto
 * docs/specification.md, "Failures"): `code` (1) and `message` (2). `details` (3) is left out;
 * a receiver that sends none needs no definition for it.
 */
import { Buffer } from 'node:buffer';
import protobuf from 'protobufjs';

const RpcStatus = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'));
new protobuf.Root().define('google.rpc').add(RpcStatus);

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

export function encodeRpcStatus(httpStatus: number, message: string, contentType: 'json' | 'protobuf'): Buffer | string {
  const status = { code: grpcCodeFor(httpStatus), message: message.slice(0, 4096) };
  if (contentType === 'json') return JSON.stringify(status);
  const bytes = RpcStatus.encode(status).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a protobuf google.rpc.Status (tests, and clients of the collector). */
export function decodeRpcStatus(bytes: Uint8Array): { code: number; message: string } {
  const m = RpcStatus.toObject(RpcStatus.decode(bytes), { defaults: true }) as { code: number; message: string };
  return { code: m.code, message: m.message };
}
