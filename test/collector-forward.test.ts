import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeTracesJson, encodeTracesProtobuf } from '../src/collector/otlp/index.js';
import { signalUrl } from '../src/collector/forwarder.js';
import type { SpanData } from '../src/spans/span-data.js';
import { post, query, testCollector } from './collector-fixture.js';

interface Received {
  path: string;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  body: Buffer;
}

const servers: Server[] = [];
afterEach(async () => {
  while (servers.length > 0) {
    const s = servers.pop()!;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

function upstream(port: number, received: Received[]): Promise<Server> {
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'], contentEncoding: req.headers['content-encoding'], body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function span(i: number): SpanData {
  return {
    traceId: 'f'.repeat(32),
    spanId: (0x500 + i).toString(16).padStart(16, '0'),
    name: 'chat gpt-4o',
    kind: 2,
    startTimeUnixNano: 1_760_000_000_000_000_000n,
    endTimeUnixNano: 1_760_000_000_500_000_000n,
    statusCode: 0,
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 3, 'gen_ai.usage.output_tokens': 4 },
    events: [],
    links: [],
    resource: { 'service.name': 'forward-test' },
  };
}

describe('collector forwarding', () => {
  it('signal URLs', () => {
    expect(signalUrl('http://h:4318', 'traces')).toBe('http://h:4318/v1/traces');
    expect(signalUrl('http://h:4318/', 'logs')).toBe('http://h:4318/v1/logs');
    expect(signalUrl('http://h:4318/v1/traces', 'metrics')).toBe('http://h:4318/v1/metrics');
  });

  it('an upstream that is down, then up: ingestion goes on, and every request arrives byte for byte once it is back', async () => {
    const port = await freePort();
    const c = await testCollector({ forward: [`http://127.0.0.1:${port}`], forwardOptions: { initialBackoffMs: 50, maxBackoffMs: 200 } });
    const json = JSON.stringify(encodeTracesJson([span(1)]));
    const gz = gzipSync(Buffer.from(encodeTracesProtobuf([span(2)])));
    expect((await post(`${c.url}/v1/traces`, json, { 'content-type': 'application/json' })).status).toBe(200);
    expect((await post(`${c.url}/v1/traces`, gz, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' })).status).toBe(200);
    // The outage does not hold up SQLite.
    await c.flush();
    expect(query(c.dbPath, 'SELECT COUNT(*) AS n FROM telemetry')).toEqual([{ n: 2n }]);
    await until('a failed attempt', () => c.stats().forward[0]!.retries > 0);
    expect(c.stats().forward[0]!.sent).toBe(0);

    const received: Received[] = [];
    await upstream(port, received);
    await until('both requests upstream', () => received.length === 2);
    expect(received[0]).toEqual({ path: '/v1/traces', contentType: 'application/json', contentEncoding: undefined, body: Buffer.from(json) });
    expect(received[1]).toEqual({ path: '/v1/traces', contentType: 'application/x-protobuf', contentEncoding: 'gzip', body: gz });
    // The upstream has the bodies before the forwarder has read its answers: wait for those too.
    await until('both answers read', () => c.stats().forward[0]!.sent === 2);
    expect(c.stats().forward[0]).toMatchObject({ sent: 2, dropped: 0, queued: 0 });
  });

  it('a full forward queue drops and counts; SQLite still gets everything', async () => {
    const port = await freePort();
    const c = await testCollector({ forward: [`http://127.0.0.1:${port}`], forwardOptions: { maxQueueSize: 1, initialBackoffMs: 10_000 } });
    for (let i = 0; i < 4; i++) {
      expect((await post(`${c.url}/v1/traces`, JSON.stringify(encodeTracesJson([span(10 + i)])), { 'content-type': 'application/json' })).status).toBe(200);
    }
    await c.flush();
    expect(query(c.dbPath, 'SELECT COUNT(*) AS n FROM telemetry')).toEqual([{ n: 4n }]);
    expect(c.stats().forward[0]!.dropped).toBe(3);
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(metrics).toMatch(/agentloupe_collector_dropped_total\{[^}]*agentloupe_collector_reason="forward"[^}]*\} 3/);
  });
});
