/**
 * The UI's JSON API and its guard rails, over real HTTP on 127.0.0.1 and a database written by
 * the demo: the numbers equal the CLI's, filters filter, the server only reads, a token is
 * required off loopback and accepted as a bearer header or a cookie from the printed URL.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MonitoringStore, SUMMARY_GROUPS } from '../src/store/reader.js';
import { CONTENT_SECURITY_POLICY } from '../src/ui/app.js';
import { collectorUiHandler, startUi, UiTokenRequiredError, type RunningUi } from '../src/ui/server.js';
import { CLI, cliJson, demoDatabase } from './ui-fixture.mjs';
import { join } from 'node:path';
import type { WriteOp } from '../src/spans/rows.js';
import { agentRow, telemetryRow, writeOps } from './cli-fixture.js';
import { tempDir } from './helpers.js';

type Json = Record<string, unknown>;

let demo: { dir: string; db: string; plan: string };
let ui: RunningUi;

beforeAll(async () => {
  demo = demoDatabase();
  ui = await startUi({ db: demo.db, port: 0 });
}, 180_000);

afterAll(async () => {
  await ui?.close();
  rmSync(demo.dir, { recursive: true, force: true });
});

async function api<T = Json>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${ui.url}/ui/api/v1/${path}`, init);
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

describe('UI API over the demo database', () => {
  it('cost answers what `agentloupe cost --json` prints, for every grouping and a time range', { timeout: 120_000 }, async () => {
    const since = String(Math.floor(Date.now() / 1000) - 3600);
    for (const by of SUMMARY_GROUPS) {
      expect((await api(`cost?by=${by}`)).body).toEqual(cliJson(['cost', '--by', by, '--db', demo.db]));
    }
    for (const by of ['plan', 'day']) {
      const ranged = cliJson(['cost', '--by', by, '--since', since, '--db', demo.db]);
      expect((await api(`cost?by=${by}&since=${since}`)).body).toEqual(ranged);
    }
    const until = String(Math.floor(Date.now() / 1000) - 7200);
    expect((await api(`cost?by=model&until=${until}`)).body).toEqual({ by: 'model', rows: [], total: expect.objectContaining({ calls: 0 }) });
    const { body } = await api<{ total: { unpricedCalls: number; calls: number } }>('cost?by=model');
    // The demo's self-hosted model has no price: counted apart, never as $0.
    expect(body.total.unpricedCalls).toBe(1);
    expect(body.total.calls).toBe(6);
  });

  it('runs filter by status, type, name, plan and text, sort, and page, with the count of all matches', async () => {
    const all = await api<{ rows: Json[]; total: number }>('runs');
    expect(all.body.total).toBe(5);
    const failed = await api<{ rows: { name: string; errorMessage: string }[]; total: number }>('runs?status=failed');
    expect(failed.body.rows.map((r) => r.name)).toEqual(['reviewer']);
    expect((await api<{ total: number }>('runs?status=completed,failed')).body.total).toBe(5);
    expect((await api<{ rows: { name: string }[] }>('runs?q=LINT')).body.rows.map((r) => r.name)).toEqual(['reviewer']);
    expect((await api<{ rows: { name: string }[] }>('runs?type=tester')).body.rows.map((r) => r.name)).toEqual(['tester']);
    expect((await api<{ total: number }>('runs?name=documenter')).body.total).toBe(1);
    expect((await api<{ total: number }>(`runs?plan=${demo.plan}`)).body.total).toBe(5);
    expect((await api<{ total: number }>('runs?plan=nope')).body.total).toBe(0);
    const byName = await api<{ rows: { name: string }[] }>('runs?sort=name&dir=asc');
    expect(byName.body.rows.map((r) => r.name)).toEqual(['developer', 'documenter', 'planner', 'reviewer', 'tester']);
    const page2 = await api<{ rows: { name: string }[]; total: number; offset: number }>('runs?sort=name&dir=asc&limit=2&offset=2');
    expect(page2.body).toMatchObject({ total: 5, offset: 2 });
    expect(page2.body.rows.map((r) => r.name)).toEqual(['planner', 'reviewer']);
    // Per-run usage matches the store's own totals.
    const store = MonitoringStore.open(demo.db);
    try {
      const planner = (await api<{ rows: { id: string; usage: { totalTokens: number; costUsd: number; calls: number; toolCalls: number } }[] }>('runs?name=planner')).body.rows[0]!;
      expect(planner.usage.totalTokens).toBe(store.getTotalTokens(planner.id).total);
      expect(planner.usage.costUsd).toBeCloseTo(store.getTotalCost(planner.id), 12);
      expect(planner.usage).toMatchObject({ calls: 1, toolCalls: 1 });
    } finally {
      store.close();
    }
  });

  it('bad parameters are 400 with a message that says what to send', async () => {
    expect(await api('runs?status=lost')).toMatchObject({ status: 400, body: { error: expect.stringContaining('status takes') } });
    expect(await api('runs?sort=cost')).toMatchObject({ status: 400, body: { error: expect.stringContaining('sort takes') } });
    expect(await api('cost?by=color')).toMatchObject({ status: 400, body: { error: expect.stringContaining('by takes one of') } });
    expect(await api('cost?since=yesterdayish')).toMatchObject({ status: 400, body: { error: expect.stringContaining('cannot read') } });
    expect(await api('runs?limit=-1')).toMatchObject({ status: 400 });
    expect(await api('view')).toMatchObject({ status: 400 });
    expect(await api('view?agent=missing')).toMatchObject({ status: 404 });
    expect(await api('nope')).toMatchObject({ status: 404 });
  });

  it('the plan view carries the tree with roll-ups, every span and every call', async () => {
    const { body } = await api<{ tree: { agent: { name: string }; subtree: { agents: number; tokens: number }; children: unknown[] }[]; spans: { name: string }[]; calls: { spanId: string }[] }>(
      `view?plan=${demo.plan}`,
    );
    expect(body.tree.map((n) => n.agent.name)).toEqual(['planner']);
    expect(body.tree[0]!.subtree.agents).toBe(5);
    const tel = cliJson(['stats', '--db', demo.db]) as { tokens: { total: number } };
    expect(body.tree[0]!.subtree.tokens).toBe(tel.tokens.total);
    expect(body.calls).toHaveLength(10);
    // 5 agent spans, 6 model calls, 4 tool calls.
    expect(body.spans).toHaveLength(15);
    const spanIds = new Set(body.spans.map((s) => (s as unknown as { spanId: string }).spanId));
    for (const c of body.calls) expect(spanIds.has(c.spanId)).toBe(true);
  });

  it('is read-only, sets a Content-Security-Policy with no inline script, and serves pages by path', async () => {
    const post = await fetch(`${ui.url}/ui/api/v1/runs`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    const page = await fetch(`${ui.url}/runs?status=failed`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self';/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval/);
    const html = await page.text();
    // Only external module scripts: nothing inline for the policy to have to allow.
    expect(html.match(/<script[^>]*>[^<]+<\/script>/g)).toBeNull();
    const asset = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${ui.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${ui.url}/no-such-page`)).status).toBe(404);
    expect((await fetch(`${ui.url}/ui/assets/nope.js`)).status).toBe(404);
  });
});

describe('UI access', () => {
  it('refuses a non-loopback address without a token, before listening', async () => {
    await expect(startUi({ db: demo.db, host: '0.0.0.0', port: 0 })).rejects.toBeInstanceOf(UiTokenRequiredError);
    const r = spawnSync(process.execPath, [CLI, 'ui', '--db', demo.db, '--host', '0.0.0.0', '--port', '0'], { encoding: 'utf8', env: { ...process.env, AGENTLOUPE_UI_TOKEN: '' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/refusing to serve the UI on 0\.0\.0\.0 without a token.*--token/);
  });

  it('with a token: a bearer header, or the printed URL once, which sets a cookie and drops the token from the address', async () => {
    const guarded = await startUi({ db: demo.db, port: 0, token: 's3cret-token' });
    try {
      expect((await fetch(`${guarded.url}/ui/api/v1/runs`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/ui/api/v1/runs`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${guarded.url}/ui/api/v1/runs`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
      expect(guarded.openUrl).toBe(`${guarded.url}/?token=s3cret-token`);
      expect((await fetch(`${guarded.url}/?token=wrong`, { redirect: 'manual' })).status).toBe(401);
      const login = await fetch(`${guarded.url}/runs?status=failed&token=s3cret-token`, { redirect: 'manual' });
      expect(login.status).toBe(302);
      expect(login.headers.get('location')).toBe('/runs?status=failed');
      const cookie = login.headers.get('set-cookie')!;
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Strict/i);
      expect(cookie).not.toContain('s3cret-token');
      const pair = cookie.split(';')[0]!;
      expect((await fetch(`${guarded.url}/ui/api/v1/runs`, { headers: { cookie: pair } })).status).toBe(200);
      expect((await fetch(`${guarded.url}/ui/api/v1/runs`, { headers: { cookie: `${pair.split('=')[0]}=forged` } })).status).toBe(401);
    } finally {
      await guarded.close();
    }
  });

  it('inside a collector on a non-loopback address with no token, the UI answers 403 and other paths pass through', async () => {
    const store = MonitoringStore.open(demo.db);
    const handler = collectorUiHandler({ store, host: '0.0.0.0', token: undefined });
    const server: Server = createServer((req, res) => {
      if (!handler(req, res)) res.writeHead(418).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await fetch(`${base}/`);
      expect(res.status).toBe(403);
      expect(await res.text()).toMatch(/AGENTLOUPE_COLLECTOR_TOKEN/);
      expect((await fetch(`${base}/ui/api/v1/runs`)).status).toBe(403);
      expect((await fetch(`${base}/v1/traces`)).status).toBe(418);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      store.close();
    }
  });
});

describe('a long session', () => {
  it('answers its model requests a page at a time, oldest first, with the count of them all', async () => {
    const dir = tempDir();
    const db = join(dir, 'session.db');
    const id = 'claude-code-long';
    const ops: WriteOp[] = [{ kind: 'agentStart', row: agentRow({ id, agentType: 'claude-code', startTime: 1_780_000_000 }) }];
    for (let i = 0; i < 1205; i++) ops.push({ kind: 'telemetry', row: telemetryRow({ agentId: id, timestamp: 1_780_000_000 + i, inputTokens: i }), dedupe: false, agentLive: true });
    writeOps(db, ops);
    const server = await startUi({ db, port: 0 });
    try {
      const page = async (query: string) => {
        const res = await fetch(`${server.url}/ui/api/v1/sessions/${id}${query}`);
        return (await res.json()) as { turns: { inputTokens: number }[]; total: number; offset: number; limit: number };
      };
      const first = await page('');
      expect([first.turns.length, first.total, first.offset, first.limit]).toEqual([500, 1205, 0, 500]);
      expect(first.turns.map((t) => t.inputTokens)).toEqual(Array.from({ length: 500 }, (_, i) => i));
      const last = await page('?offset=1000');
      expect(last.turns.map((t) => t.inputTokens)).toEqual(Array.from({ length: 205 }, (_, i) => 1000 + i));
      expect((await page('?limit=5000')).turns).toHaveLength(1205);
      expect((await page('?limit=7&offset=3')).turns.map((t) => t.inputTokens)).toEqual([3, 4, 5, 6, 7, 8, 9]);
      expect((await fetch(`${server.url}/ui/api/v1/sessions/${id}?offset=-1`)).status).toBe(400);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('many zombie agents', () => {
  it('the health answer lists the 100 most recently active and counts them all', async () => {
    const dir = tempDir();
    const db = join(dir, 'zombies.db');
    const silentSince = Math.floor(Date.now() / 1000) - 3 * 3600;
    writeOps(db, Array.from({ length: 150 }, (_, i): WriteOp => ({ kind: 'agentStart', row: agentRow({ id: `z-${i}`, agentType: 'worker', startTime: silentSince + i, processId: null }) })));
    const server = await startUi({ db, port: 0 });
    try {
      const body = (await (await fetch(`${server.url}/ui/api/v1/health`)).json()) as { zombies: { agentId: string; reason: string }[]; zombiesTotal: number };
      expect(body.zombiesTotal).toBe(150);
      expect(body.zombies.map((z) => z.agentId)).toEqual(Array.from({ length: 100 }, (_, i) => `z-${149 - i}`));
      expect(new Set(body.zombies.map((z) => z.reason))).toEqual(new Set(['silent']));
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
