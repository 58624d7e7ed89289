/**
 * OTLP/gRPC: the `Export` methods of TraceService, MetricsService and LogsService
 * (opentelemetry-proto collector/{trace,metrics,logs}/v1), served by @grpc/grpc-js beside the OTLP/HTTP port and fed
 * into the same ExportPipeline, so both transports store the same rows.
 *
 * No .proto files are loaded: the service definition is written out here and its serializers are
 * the project's protobufjs types (otlp/proto.ts). The request "deserializer" hands the handler the
 * raw message bytes; decoding happens in the pipeline, so a malformed message becomes
 * INVALID_ARGUMENT (a throwing deserializer would make grpc-js answer INTERNAL) and the bytes can
 * be forwarded upstream unchanged.
 *
 * Status mapping (opentelemetry-proto docs/specification.md, "OTLP/gRPC Response"):
 *   bad message -> INVALID_ARGUMENT (not retryable)
 *   missing or wrong token -> UNAUTHENTICATED
 *   write queue full, or refused by memory admission (the same Admission as the HTTP port:
 *     bytes in flight and RSS) -> UNAVAILABLE with google.rpc.RetryInfo in grpc-status-details-bin
 *     (the spec's throttling signal, "OTLP/gRPC Throttling"; UNAVAILABLE is retryable for every
 *     OTLP exporter, RESOURCE_EXHAUSTED only with RetryInfo, which not every exporter parses)
 *   message larger than the limit (compressed or not) -> RESOURCE_EXHAUSTED, from grpc-js itself
 *   gzip -> grpc-js decompresses it (grpc-encoding: gzip), within the same limit
 *
 * Admission happens once grpc-js has the whole message (a handler sees nothing earlier), so unlike
 * HTTP, whose refusal comes before the body is read, a refused gRPC message has been received;
 * refusing still spares what costs most: decoding it and holding its rows until they commit.
 */
import grpc from '@grpc/grpc-js';
import { warnOnce } from '../../log.js';
import type { Admission } from '../admission.js';
import type { CollectorMetrics } from '../collector-metrics.js';
import type { ExportPipeline } from '../export-pipeline.js';
import { OTLP_SIGNALS, type OtlpSignal } from '../otlp/index.js';
import { encodeExportResponse } from '../otlp/encode.js';
import { encodeRetryStatus } from '../rpc-status.js';
import type { TokenCheck } from '../token.js';

export { DEFAULT_GRPC_PORT } from './port.js';

/** The fully qualified service names, as exporters call them. */
export const OTLP_GRPC_SERVICES: Readonly<Record<OtlpSignal, string>> = {
  traces: 'opentelemetry.proto.collector.trace.v1.TraceService',
  metrics: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
  logs: 'opentelemetry.proto.collector.logs.v1.LogsService',
};

export interface GrpcReceiverOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  pipeline: ExportPipeline;
  metrics: CollectorMetrics;
  checkToken: TokenCheck;
  /** Largest message, on the wire and decompressed. */
  maxMessageBytes: number;
  /** The delay UNAVAILABLE answers ask exporters to wait. */
  retryAfterMs: number;
  /** The process's memory admission, shared with the HTTP port. */
  admission: Admission;
}

export interface GrpcReceiver {
  readonly port: number;
  /** `host:port`, as an exporter's endpoint would name it (`http://` + this). */
  readonly address: string;
  close(): Promise<void>;
}

/** What an export answers: partial success is a normal response, like HTTP 200. */
interface ExportReply {
  rejected: number;
  message?: string;
}

function serviceDefinition(signal: OtlpSignal): grpc.ServiceDefinition {
  const response = OTLP_SIGNALS[signal].response;
  const method: grpc.MethodDefinition<Buffer, ExportReply> = {
    path: `/${OTLP_GRPC_SERVICES[signal]}/Export`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (raw: Buffer) => raw,
    requestDeserialize: (raw: Buffer) => raw,
    responseSerialize: (reply: ExportReply) => encodeExportResponse(signal, reply.rejected, reply.message, 'protobuf'),
    responseDeserialize: (raw: Buffer) => {
      const decoded = response.toObject(response.decode(raw), { longs: Number }) as { partialSuccess?: Record<string, unknown> };
      const p = decoded.partialSuccess ?? {};
      return { rejected: Number(p[OTLP_SIGNALS[signal].rejectedField] ?? 0), message: typeof p.errorMessage === 'string' ? p.errorMessage : undefined };
    },
  };
  return { Export: method };
}

function status(code: grpc.status, details: string, metadata?: grpc.Metadata): grpc.ServerErrorResponse {
  return Object.assign(new Error(details), { code, details, ...(metadata ? { metadata } : {}) });
}

function bindAddress(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/** Starts the gRPC receiver; resolves once it listens. */
export async function startGrpcReceiver(options: GrpcReceiverOptions): Promise<GrpcReceiver> {
  const { pipeline, metrics, checkToken, admission } = options;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    // Idle exporters keep one connection; a stuck one is closed after two minutes.
    'grpc.max_connection_idle_ms': 120_000,
  });

  for (const signal of Object.keys(OTLP_GRPC_SERVICES) as OtlpSignal[]) {
    const handler: grpc.handleUnaryCall<Buffer, ExportReply> = (call, callback) => {
      pipeline.stats[signal].requests++;
      let admitted: number | undefined;
      const release = (): void => {
        if (admitted !== undefined) admission.release(admitted);
        admitted = undefined;
      };
      const answer = (code: grpc.status, details: string, metadata?: grpc.Metadata): void => {
        release();
        metrics.grpcRequest(signal, code);
        callback(status(code, details, metadata));
      };
      const throttle = (message: string): void => {
        const trailer = new grpc.Metadata();
        trailer.set('grpc-status-details-bin', encodeRetryStatus(grpc.status.UNAVAILABLE, message, options.retryAfterMs));
        answer(grpc.status.UNAVAILABLE, message, trailer);
      };
      try {
        const auth = call.metadata.get('authorization')[0];
        if (!checkToken(typeof auth === 'string' ? auth : undefined)) {
          return answer(grpc.status.UNAUTHENTICATED, 'missing or wrong bearer token (metadata authorization: Bearer <token>, see --token / AGENTLOUPE_COLLECTOR_TOKEN)');
        }
        if (!pipeline.hasRoom()) return throttle(pipeline.refuseEarly(signal).message);
        const refusal = admission.admit(call.request.length);
        if (refusal !== undefined) {
          pipeline.refuseEarly(signal);
          return throttle(refusal);
        }
        admitted = call.request.length;
        const outcome = pipeline.export(signal, call.request, 'protobuf', { raw: call.request, contentType: 'application/x-protobuf' });
        if (outcome.kind === 'invalid') return answer(grpc.status.INVALID_ARGUMENT, outcome.message);
        if (outcome.kind === 'overloaded') return throttle(outcome.message);
        // OK only once the rows are committed (durable acknowledgement, docs/reliability.md);
        // the message counts as in flight until then, as an HTTP body does until its 200.
        outcome.committed.then(
          () => {
            release();
            metrics.grpcRequest(signal, grpc.status.OK);
            callback(null, { rejected: outcome.rejected, message: outcome.message });
          },
          // Not queued after all (the queue closed under it): nothing stored, so a retry is right.
          (err: unknown) => throttle((err as Error).message),
        );
      } catch (err) {
        warnOnce(`collector-grpc:${(err as Error).message}`, `collector: gRPC export failed: ${(err as Error).stack ?? String(err)}`);
        answer(grpc.status.INTERNAL, 'internal error');
      }
    };
    server.addService(serviceDefinition(signal), { Export: handler });
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(bindAddress(options.host, options.port), grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  let closed: Promise<void> | undefined;
  return {
    port,
    address: bindAddress(options.host, port),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        // Calls in flight get a moment to finish, as on the HTTP port.
        const force = setTimeout(() => server.forceShutdown(), 2000);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closed;
    },
  };
}
