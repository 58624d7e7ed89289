/**
 * The capturing fetch adds `traceparent` (the call's own span) to a model request however the
 * caller gave its headers — a plain record (what most SDKs pass), a Headers object, pairs — keeps
 * every header the caller set, and never replaces a trace context the caller set itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFetchCapture } from '../instrumentation/fetch-capture.js';
import { createMonitor, type Monitor } from '../src/index.js';
import { startFakeLlmServer, type FakeLlmServer } from './fake-llm-server.js';

let fake: FakeLlmServer;
beforeAll(async () => {
  fake = await startFakeLlmServer();
});
afterAll(async () => {
  await fake?.close();
});

const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
const CALLER_CONTEXT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('trace context on captured model calls', () => {
  it('is added to plain, Headers and pair headers, beside the caller\'s own, and a caller\'s traceparent wins', async () => {
    const monitor: Monitor = createMonitor({ db: false, metricReaders: [] });
    const run = monitor.startAgent({ type: 'headers' });
    const undo = installFetchCapture({ runFor: () => run, captureContent: false, maxContentBytes: 0 });
    const url = `${fake.url}/v1/chat/completions`;
    const given: Record<string, HeadersInit> = {
      record: { 'content-type': 'application/json', Authorization: 'Bearer k1' },
      headers: new Headers({ 'content-type': 'application/json', Authorization: 'Bearer k2' }),
      pairs: [['content-type', 'application/json'], ['Authorization', 'Bearer k3']],
      'record with its own trace context': { 'content-type': 'application/json', Authorization: 'Bearer k4', TraceParent: CALLER_CONTEXT },
      'Headers with its own trace context': new Headers({ 'content-type': 'application/json', Authorization: 'Bearer k5', traceparent: CALLER_CONTEXT }),
    };
    try {
      for (const headers of Object.values(given)) {
        const res = await fetch(url, { method: 'POST', headers, body });
        expect(res.status).toBe(200);
        await res.json();
      }
    } finally {
      undo();
    }
    run.complete();
    await monitor.shutdown();
    const sent = fake.requests.slice(-5);
    expect(sent.map((r) => r.headers['authorization'])).toEqual(['Bearer k1', 'Bearer k2', 'Bearer k3', 'Bearer k4', 'Bearer k5']);
    expect(sent.every((r) => r.headers['content-type'] === 'application/json')).toBe(true);
    const { traceId, spanId } = run.span.spanContext();
    const ours = new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`);
    for (const r of sent.slice(0, 3)) {
      expect(r.headers['traceparent']).toMatch(ours);
      // the call's own span, not the run's
      expect(r.headers['traceparent']).not.toContain(spanId);
    }
    expect(sent.slice(3).map((r) => r.headers['traceparent'])).toEqual([CALLER_CONTEXT, CALLER_CONTEXT]);
  });
});
