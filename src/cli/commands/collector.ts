import type { Command } from 'commander';
import { DEFAULT_COLLECTOR_HOST, DEFAULT_COLLECTOR_PORT, DEFAULT_GRPC_PORT, DEFAULT_MAX_BODY_BYTES, startCollector, TOKEN_ENV_VAR } from '../../collector/server.js';
import { DEFAULT_MAX_MEMORY_BYTES } from '../../collector/admission.js';
import { print, resolveDbPath, UsageError } from '../context.js';

interface CollectorCliOptions {
  host: string;
  port: string;
  grpcPort: string;
  db?: string;
  token?: string;
  forward: string[];
  maxBodyBytes: string;
  maxMemory: string;
}

function wholeNumber(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not ${value}`);
  return n;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export function registerCollector(program: Command): void {
  program
    .command('collector')
    .description('receive OTLP (HTTP and gRPC) from any agent process into the local database, and forward it upstream')
    .option('--host <host>', 'address to listen on', DEFAULT_COLLECTOR_HOST)
    .option('--port <port>', 'OTLP/HTTP port (0 picks a free one)', String(DEFAULT_COLLECTOR_PORT))
    .option('--grpc-port <port>', 'OTLP/gRPC port on the same host (0 turns gRPC off)', String(DEFAULT_GRPC_PORT))
    .option('--db <path>', 'database file (default: AGENTLOUPE_DB, else the nearest .agentloupe/monitoring.db)')
    .option('--token <token>', `bearer token senders must present (default: ${TOKEN_ENV_VAR})`)
    .option('--forward <url>', 'also send everything to this OTLP/HTTP endpoint (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--max-body-bytes <n>', 'largest request body, compressed and decompressed', String(DEFAULT_MAX_BODY_BYTES))
    .option('--max-memory <MB>', 'memory cap for the whole process (RSS, idle baseline included): past 3/4 of it new requests get 503 + Retry-After (gRPC UNAVAILABLE)', String(DEFAULT_MAX_MEMORY_BYTES / 1048576))
    .addHelpText(
      'after',
      `
Point any OTLP exporter at it:
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc

Examples:
  agentloupe collector
  agentloupe collector --forward http://localhost:14318 --db swarm.db
  AGENTLOUPE_COLLECTOR_TOKEN=s3cret agentloupe collector --host 0.0.0.0`,
    )
    .action(async (opts: CollectorCliOptions) => {
      const port = wholeNumber(opts.port, '--port', 0, 65535);
      const grpcPort = wholeNumber(opts.grpcPort, '--grpc-port', 0, 65535);
      const maxBodyBytes = wholeNumber(opts.maxBodyBytes, '--max-body-bytes', 1024, 2 ** 31 - 1);
      const token = opts.token ?? (process.env[TOKEN_ENV_VAR] || undefined);
      for (const url of opts.forward) {
        try {
          new URL(url);
        } catch {
          throw new UsageError(`--forward ${url} is not a URL (e.g. http://localhost:14318)`);
        }
      }
      if (!isLoopback(opts.host) && !token) {
        process.stderr.write(`agentloupe: warning: listening on ${opts.host} without a token; anyone who can reach it can write to the database. Set --token or ${TOKEN_ENV_VAR}.\n`);
      }
      // grpc-js prints its own line for a busy port before we report it with what to do; this
      // process is ours, so its own logging is off unless the user asked for it.
      process.env.GRPC_VERBOSITY ??= 'NONE';
      const collector = await startCollector({ host: opts.host, port, grpcPort: grpcPort === 0 ? false : grpcPort, db: resolveDbPath(opts.db), token, forward: opts.forward, maxBodyBytes, maxMemoryBytes: wholeNumber(opts.maxMemory, '--max-memory', 32, 1_048_576) * 1048576 });
      print(
        [
          `agentloupe collector listening on ${collector.url}`,
          `  OTLP/HTTP:   POST ${collector.url}/v1/traces  /v1/metrics  /v1/logs  (protobuf or JSON, gzip ok)`,
          ...(collector.grpcUrl ? [`  OTLP/gRPC:   ${collector.grpcUrl}  (TraceService, MetricsService, LogsService; gzip ok)`] : ['  OTLP/gRPC:   off (--grpc-port 0)']),
          `  database:    ${collector.dbPath}`,
          `  agents:      OTEL_EXPORTER_OTLP_ENDPOINT=${collector.url} OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf${token ? ' OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <token>"' : ''}`,
          `  prometheus:  ${collector.url}/metrics   health: ${collector.url}/healthz  ${collector.url}/readyz`,
          `  jaeger API:  ${collector.url}/api/services`,
          ...(opts.forward.length > 0 ? [`  forwarding:  ${opts.forward.join(', ')}`] : []),
          'Ctrl-C stops it (everything received is written first).',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.stderr.write(`agentloupe: ${signal}: writing what was received and stopping\n`);
          collector.close().then(resolve, (err: unknown) => {
            process.stderr.write(`agentloupe: collector shutdown: ${String(err)}\n`);
            resolve();
          });
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      const s = collector.stats();
      print(`stopped: ${s.traces.accepted} spans, ${s.metrics.accepted} metric points, ${s.logs.accepted} log records accepted; ${s.ingest.written} rows written, ${s.ingest.failed} failed`);
    });
}
