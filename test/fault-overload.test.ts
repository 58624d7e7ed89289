import grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { otlpRequest, post, query, sleep, startCollectorProcess, waitFor } from './fault-helpers.js';
import { tempDir } from './helpers.js';
import { requireBuild, ROOT } from './register-helpers.js';

/**
 * Over OTLP/HTTP, one request in flight per sender; over OTLP/gRPC, CALLS_PER_CONNECTION calls in
 * flight on each connection, as the OTel exporters do (they send concurrently). One memory
 * admission guards both. Without it on the gRPC side, 40 connections x 4 calls took the collector
 * to 311 MB (cap 256).
 */
const HTTP_SENDERS = 20;
const GRPC_CONNECTIONS = 20;
const CALLS_PER_CONNECTION = 4;
const GRPC_SENDERS = GRPC_CONNECTIONS * CALLS_PER_CONNECTION;
const CALLS = 99;
/** The cap the collector is started with (--max-memory): the default. A 160 MB cap was overshot on a quiet machine (peak 177 MB, 163 MB with the earlier refusal): the idle collector alone takes about 90 MB. */
const CAP_MB = 256;

const { retryDelayMsOf } = (await import(join(ROOT, 'dist/src/collector/rpc-status.js'))) as { retryDelayMsOf: (b: Uint8Array) => number | undefined };

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

type ExportClient = grpc.Client & { Export: (body: Buffer, cb: (err: grpc.ServiceError | null) => void) => void };

/** One exporter's connection: raw TraceService/Export calls carrying pre-encoded requests. */
function grpcClient(address: string): ExportClient {
  const identity = (b: Buffer): Buffer => b;
  const Ctor = grpc.makeGenericClientConstructor(
    { Export: { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    'TraceService',
  );
  return new Ctor(address, grpc.credentials.createInsecure()) as unknown as ExportClient;
}

describe('collector under 10x overload', () => {
  beforeAll(requireBuild);

  it(`${HTTP_SENDERS} HTTP senders + ${GRPC_CONNECTIONS} gRPC connections x ${CALLS_PER_CONNECTION} calls at full speed: RSS stays under the ${CAP_MB} MB cap, refusals carry a retry delay, every acknowledgement is stored`, async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    const grpcPort = await freePort();
    const { child, url } = await startCollectorProcess(db, dir, ['--max-memory', String(CAP_MB), '--grpc-port', String(grpcPort)]);
    await waitFor(child, 'OTLP/gRPC:   http://');
    const grpcAddress = /OTLP\/gRPC:\s+http:\/\/(\S+)/.exec(child.stdout())![1]!;
    const pid = child.proc.pid!;
    const acknowledged: [number, number][] = [];
    const refusals = new Map<string, number>();
    let withoutRetryDelay = 0;
    let peak = 0;
    const clients: ExportClient[] = [];
    try {
      const until = Date.now() + 12_000;
      const sampler = (async () => {
        while (Date.now() < until + 500) {
          peak = Math.max(peak, rssMb(pid));
          await sleep(50);
        }
      })();
      const refused = (kind: string, hasDelay: boolean): void => {
        refusals.set(kind, (refusals.get(kind) ?? 0) + 1);
        if (!hasDelay) withoutRetryDelay++;
      };
      // Each sender: no pause after a success, and after a refusal only a short one (well under the
      // delay the exporters would honour): the overload is kept up on purpose.
      const httpSender = async (s: number): Promise<void> => {
        for (let r = 0; Date.now() < until; r++) {
          const res = await post(url, otlpRequest(s, r, CALLS));
          if (res.status === 200) acknowledged.push([s, r]);
          else {
            refused(`http ${res.status}`, res.retryAfter !== null);
            await sleep(20);
          }
        }
      };
      const grpcSender = async (s: number): Promise<void> => {
        // Senders start in order, so every CALLS_PER_CONNECTION of them share one connection.
        if ((s - HTTP_SENDERS) % CALLS_PER_CONNECTION === 0) clients.push(grpcClient(grpcAddress));
        const client = clients[clients.length - 1]!;
        for (let r = 0; Date.now() < until; r++) {
          const err = await new Promise<grpc.ServiceError | null>((resolve) => client.Export(otlpRequest(s, r, CALLS), resolve));
          if (err === null) acknowledged.push([s, r]);
          else {
            const details = err.metadata?.get('grpc-status-details-bin')[0];
            refused(`grpc ${grpc.status[err.code]}`, Buffer.isBuffer(details) && (retryDelayMsOf(details) ?? 0) > 0);
            await sleep(20);
          }
        }
      };
      await Promise.all([
        sampler,
        ...Array.from({ length: HTTP_SENDERS }, (_, s) => httpSender(s)),
        ...Array.from({ length: GRPC_SENDERS }, (_, s) => grpcSender(HTTP_SENDERS + s)),
      ]);
    } finally {
      for (const c of clients) c.close();
      child.proc.kill('SIGKILL');
      await child.done;
    }
    console.log(`overload: peak RSS ${peak.toFixed(0)} MB, ${acknowledged.filter(([s]) => s < HTTP_SENDERS).length} acknowledged over HTTP, ${acknowledged.filter(([s]) => s >= HTTP_SENDERS).length} over gRPC, refusals ${JSON.stringify(Object.fromEntries(refusals))}`);
    expect(peak).toBeLessThan(CAP_MB);
    // Only the throttling answers: 503/429 over HTTP, UNAVAILABLE over gRPC, each with its delay.
    expect([...refusals.keys()].every((k) => ['http 503', 'http 429', 'grpc UNAVAILABLE'].includes(k))).toBe(true);
    expect(refusals.get('http 503') ?? refusals.get('http 429') ?? 0).toBeGreaterThan(0);
    expect(refusals.get('grpc UNAVAILABLE') ?? 0).toBeGreaterThan(0);
    expect(withoutRetryDelay).toBe(0);
    expect(acknowledged.some(([s]) => s < HTTP_SENDERS)).toBe(true);
    expect(acknowledged.some(([s]) => s >= HTTP_SENDERS)).toBe(true);
    // Even killed at the end: everything acknowledged, over either transport, is stored whole.
    const traces = new Map(query<{ trace_id: string; n: number }>(db, 'SELECT trace_id, COUNT(*) AS n FROM spans GROUP BY trace_id').map((r) => [r.trace_id, r.n]));
    const missing = acknowledged.filter(([s, r]) => traces.get(((s + 1) * 1_000_000 + r).toString(16).padStart(32, '0')) !== CALLS + 1);
    expect(missing).toEqual([]);
  }, 90_000);
});
