/**
 * Telemetry hooks run once per record on every path, including a call recorded onto the span a
 * provider SDK started itself (@anthropic-ai/sdk starts `anthropic.messages.create`): the hook's
 * change is what is stored, and the call is stored once.
 */
import Anthropic from '@anthropic-ai/sdk';
import { context } from '@opentelemetry/api';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFetchCapture } from '../instrumentation/fetch-capture.js';
import { createMonitor } from '../src/index.js';
import type { TelemetryRecord } from '../src/telemetry/hooks.js';
import { startFakeLlmServer, type FakeLlmServer } from './fake-llm-server.js';
import { tempDir } from './helpers.js';

let fake: FakeLlmServer;
beforeAll(async () => {
  fake = await startFakeLlmServer({ ackTimeoutMs: 100 });
});
afterAll(async () => {
  await fake?.close();
});

describe('telemetry hooks on an SDK-started span', () => {
  it('run once per call, plain and streamed, and their change is stored', async () => {
    const path = join(tempDir(), 'm.db');
    const monitor = createMonitor({ db: path, metricReaders: [] });
    const seen: TelemetryRecord[] = [];
    monitor.hooks.onTelemetry((r) => {
      seen.push({ ...r });
      return { ...r, costUsd: 42, priced: true, engineId: 'hooked' };
    });
    const run = monitor.startAgent({ type: 'sdk-user' });
    const undo = installFetchCapture({ runFor: () => run, captureContent: false, maxContentBytes: 0 });
    try {
      const anthropic = new Anthropic({ apiKey: 'test', baseURL: fake.url, maxRetries: 0 });
      const msgs = [{ role: 'user' as const, content: 'hi' }];
      await context.with(run.context(), async () => {
        await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: msgs });
        const stream = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: msgs, stream: true });
        for await (const _ of stream) void _;
      });
    } finally {
      undo();
    }
    run.complete();
    await monitor.shutdown();
    expect(seen).toHaveLength(2);
    expect(seen.every((r) => r.kind === 'model' && r.agentId === run.id)).toBe(true);
    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT t.estimated_cost, t.engine_id, s.name FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id JOIN spans s ON s.span_id = c.span_id').all();
    db.close();
    expect(rows).toEqual([
      { estimated_cost: 42, engine_id: 'hooked', name: 'anthropic.messages.create' },
      { estimated_cost: 42, engine_id: 'hooked', name: 'anthropic.messages.create' },
    ]);
  });
});
