import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { encodeTracesJson } from '../src/collector/otlp/index.js';
import type { SpanData } from '../src/spans/span-data.js';
import { post, query, testCollector } from './collector-fixture.js';
import { sleep } from './fault-helpers.js';

const JSON_CT = { 'content-type': 'application/json' };

function span(i: number, start: bigint, end: bigint): SpanData {
  return {
    traceId: 'f'.repeat(31) + (i % 10).toString(),
    spanId: (0x2000 + i).toString(16).padStart(16, '0'),
    name: 'chat gpt-4o',
    kind: 2,
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    statusCode: 0,
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 },
    events: [],
    links: [],
    resource: { 'service.name': 'fault-input' },
  };
}

const T = 1_760_000_000_000_000_000n;

/** Sends `total` bytes (declared in content-length, or chunked), in 64 KiB chunks, and reads whatever answer comes. */
function sendLarge(url: string, total: number, declare: boolean): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(`${url}/v1/traces`, { method: 'POST', headers: declare ? { ...JSON_CT, 'content-length': String(total) } : JSON_CT }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const write = (): void => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

describe('collector: hostile and broken requests', () => {
  it('rejects spans whose times do not fit (2^63..2^64 ns) or that end before they start, with partial success, writing nothing of them', async () => {
    const c = await testCollector();
    const good = span(1, T, T + 1000n);
    const tooLate = span(2, T, 2n ** 63n + 5n);
    const startTooLate = span(3, 2n ** 64n - 1n, 2n ** 64n - 1n);
    const backwards = span(4, T + 5000n, T);
    const res = await post(`${c.url}/v1/traces`, JSON.stringify(encodeTracesJson([good, tooLate, startTooLate, backwards])), JSON_CT);
    expect(res.status).toBe(200);
    const answer = JSON.parse(res.body.toString()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(answer.partialSuccess.rejectedSpans).toBe('3');
    expect(answer.partialSuccess.errorMessage).toContain('past 2^63-1 ns');
    expect(answer.partialSuccess.errorMessage).toContain('ends');
    await c.flush();
    // Only the good span, in both tables: nothing half-written.
    expect(query(c.dbPath, 'SELECT span_id FROM spans').map((r) => r.span_id)).toEqual([good.spanId]);
    expect(query(c.dbPath, 'SELECT span_id FROM telemetry_calls').map((r) => r.span_id)).toEqual([good.spanId]);
    expect(c.stats().ingest.failed).toBe(0);
  });

  it('counts a client that disconnects mid-body as aborted, not as a failure, and keeps serving', async () => {
    const c = await testCollector();
    await new Promise<void>((resolve) => {
      const req = request(`${c.url}/v1/traces`, { method: 'POST', headers: { ...JSON_CT, 'content-length': '100000' } });
      req.on('error', () => resolve());
      req.write('{"resourceSpans": [');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    for (let i = 0; i < 50 && c.stats().aborted === 0; i++) await sleep(20);
    expect(c.stats().aborted).toBe(1);
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(metrics).not.toMatch(/status="500"/);
    expect(metrics).toMatch(/reason="aborted"/);
    expect((await post(`${c.url}/v1/traces`, JSON.stringify(encodeTracesJson([span(5, T, T + 1n)])), JSON_CT)).status).toBe(200);
  });

  it('answers a too-large body with a readable 413 while the client is still sending it', async () => {
    const c = await testCollector({ maxBodyBytes: 1024 * 1024 });
    for (const [mb, declare] of [[4, true], [20, true], [4, false], [20, false], [20, false]] as const) {
      const answer = await sendLarge(c.url, mb * 1024 * 1024, declare);
      expect(answer).toMatchObject({ status: 413 });
      expect((answer as { body: string }).body).toContain('larger than 1048576 bytes');
    }
    expect((await post(`${c.url}/v1/traces`, JSON.stringify(encodeTracesJson([span(6, T, T + 1n)])), JSON_CT)).status).toBe(200);
  });
});
