import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMonitor, type Monitor } from '../src/index.js';
import { tempDir } from './helpers.js';

function setup(timeoutMs = 1000): { monitor: Monitor; path: string } {
  const path = join(tempDir(), 'hooks.db');
  return { monitor: createMonitor({ db: path, registerGlobal: false, hooks: { timeoutMs } }), path };
}

function telemetry(path: string): Record<string, unknown>[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT t.*, c.unpriced FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id ORDER BY t.id').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

describe('telemetry hooks', () => {
  it('run in registration order before the record is stored, and may modify it', async () => {
    const { monitor, path } = setup();
    const order: string[] = [];
    monitor.hooks.onTelemetry((r) => {
      order.push('first');
      r.engineId = 'gateway-eu';
    });
    monitor.hooks.onTelemetry(async (r) => {
      order.push('second');
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { ...r, costUsd: r.costUsd * 2, model: `${r.model}-tagged` };
    });
    monitor.hooks.onTelemetry((r) => {
      order.push(`third saw ${r.engineId}`);
    });
    await monitor.withAgent({ type: 'a' }, async (run) => {
      run.recordUsage({ provider: 'openai', model: 'gpt-4o', inputTokens: 1_000_000, outputTokens: 0 });
    });
    await monitor.shutdown();
    expect(order).toEqual(['first', 'second', 'third saw gateway-eu']);
    const [row] = telemetry(path);
    // gpt-4o input: $2.50 per million, doubled by the second hook
    expect(row).toMatchObject({ engine_id: 'gateway-eu', model: 'gpt-4o-tagged', estimated_cost: 5 });
  });

  it('can price what the table does not know, and the record stops being unpriced', async () => {
    const { monitor, path } = setup();
    monitor.hooks.onTelemetry((r) => {
      if (r.model === 'in-house-7b') return { ...r, costUsd: 0.001, priced: true };
      return undefined;
    });
    await monitor.withAgent({ type: 'a' }, async (run) => {
      run.recordUsage({ provider: 'vllm', model: 'in-house-7b', inputTokens: 10, outputTokens: 10 });
      run.recordUsage({ provider: 'vllm', model: 'other-7b', inputTokens: 10, outputTokens: 10 });
    });
    await monitor.shutdown();
    const rows = telemetry(path);
    expect(rows.map((r) => [r.model, r.estimated_cost, r.unpriced])).toEqual([
      ['in-house-7b', 0.001, 0],
      ['other-7b', 0, 1],
    ]);
  });

  it('stores the record when a hook throws, rejects or hangs, and the other hooks still run', async () => {
    const { monitor, path } = setup(50);
    const seen: string[] = [];
    monitor.hooks.onTelemetry(() => {
      throw new Error('sync boom');
    });
    monitor.hooks.onTelemetry(async () => {
      throw new Error('async boom');
    });
    monitor.hooks.onTelemetry(() => new Promise(() => {})); // never settles
    monitor.hooks.onTelemetry((r) => {
      seen.push(r.toolName ?? r.model ?? '?');
      r.engineId = 'after-the-bad-ones';
    });
    await monitor.withAgent({ type: 'a' }, async (run) => {
      run.recordUsage({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 100, outputTokens: 10 });
      run.recordTool({ name: 'bash', args: { cmd: 'ls' }, approved: true });
    });
    await monitor.shutdown();
    expect(seen.sort()).toEqual(['bash', 'gpt-4o-mini']);
    const rows = telemetry(path);
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.engine_id).toBe('after-the-bad-ones');
    expect(rows.find((r) => r.tool_name === 'bash')).toMatchObject({ tool_args: '{"cmd":"ls"}', tool_approved: 1 });
  });

  it('tells lifecycle hooks about starts, completions and failures, and a failing hook changes nothing', async () => {
    const { monitor, path } = setup();
    const events: string[] = [];
    monitor.hooks.onAgentStart((a) => void events.push(`start ${a.type}`));
    monitor.hooks.onAgentComplete((a) => void events.push(`complete ${a.type} ${a.status}`));
    monitor.hooks.onAgentFail(async (a) => {
      events.push(`fail ${a.type} ${a.status}`);
      throw new Error('hook broke');
    });
    monitor.hooks.onAgentStart(() => {
      throw new Error('also broke');
    });
    await monitor.withAgent({ type: 'ok' }, async () => {});
    await monitor.withAgent({ type: 'bad' }, async () => {
      throw new Error('x');
    }).catch(() => {});
    await monitor.shutdown();
    expect(events).toEqual(['start ok', 'complete ok completed', 'start bad', 'fail bad failed']);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT agent_type, status FROM agents ORDER BY agent_type').all()).toEqual([
      { agent_type: 'bad', status: 'failed' },
      { agent_type: 'ok', status: 'completed' },
    ]);
    db.close();
  });
});

describe('pricing configuration', () => {
  it('uses AGENTLOUPE_PRICING, and a bad file falls back to the built-in prices with a warning instead of stopping the agent', async () => {
    const dir = tempDir();
    const good = join(dir, 'prices.json');
    writeFileSync(good, JSON.stringify({ models: { 'in-house-7b': { input: 1, output: 2 } } }));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ models: { 'gpt-x': { input: 'abc', output: 1 } } }));
    const before = process.env.AGENTLOUPE_PRICING;
    try {
      process.env.AGENTLOUPE_PRICING = good;
      const m1 = createMonitor({ db: false, registerGlobal: false });
      expect(m1.pricing.cost({ inputTokens: 1e6, outputTokens: 1e6, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 0, totalTokens: 2e6 }, { model: 'in-house-7b' })).toMatchObject({ costUsd: 3, priced: true });
      await m1.shutdown();
      process.env.AGENTLOUPE_PRICING = bad;
      const m2 = createMonitor({ db: false, registerGlobal: false });
      expect(m2.pricing.cost({ inputTokens: 1e6, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 0, totalTokens: 1e6 }, { model: 'gpt-4o' })).toMatchObject({ costUsd: 2.5, priced: true });
      await m2.shutdown();
    } finally {
      if (before === undefined) delete process.env.AGENTLOUPE_PRICING;
      else process.env.AGENTLOUPE_PRICING = before;
    }
  });
});
