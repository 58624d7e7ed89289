/**
 * The web UI in a real headless Chromium (Debian's, through playwright-core), served by the
 * collector over a database written by the demo and by OTLP (a coding-agent session, captured
 * content, injection strings). Skips, saying why, where /usr/bin/chromium is not installed.
 */
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from '../src/collector/server.js';
import { usd } from '../src/cli/numbers.js';
import { encodeTracesJson } from '../src/collector/otlp/index.js';
import { CHROMIUM_MISSING, cliJson, demoDatabase, feedCollector, INJECTIONS, launchChromium, SESSION, watchedPage } from './ui-fixture.mjs';
import type { WriteOp } from '../src/spans/rows.js';
import { agentRow, telemetryRow, writeOps } from './cli-fixture.js';

const browser: Browser | undefined = await launchChromium();
if (!browser) console.warn(`ui-browser tests skipped: ${CHROMIUM_MISSING}. CI installs it in .ci/run.`);

let demo: { dir: string; db: string; plan: string };
let collector: RunningCollector;

beforeAll(async () => {
  if (!browser) return;
  demo = demoDatabase();
  collector = await startCollector({ port: 0, db: demo.db });
  await feedCollector(collector.url);
  await collector.flush();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await collector?.close();
  if (demo) rmSync(demo.dir, { recursive: true, force: true });
});

/** Opens `path` and waits until every panel has loaded. */
async function open(w: { page: Page; goto: (url: string) => Promise<unknown> }, path: string): Promise<void> {
  const { page } = w;
  await w.goto(`${collector.url}${path}`);
  await page.waitForFunction(() => document.querySelector('h1') !== null && document.querySelector('.loading') === null);
}

function dbRows(sql: string, ...params: unknown[]): Record<string, unknown>[] {
  const db = new Database(demo.db, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

const cells = (page: Page, selector: string): Promise<string[][]> =>
  page.$$eval(selector, (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())));

describe.skipIf(!browser)('web UI in Chromium', { timeout: 120_000 }, () => {
  it('every page loads with no console error, no failed request and no dialog', async () => {
    const w = await watchedPage(browser!);
    const pages = ['/', '/runs', '/runs?status=failed&sort=name&dir=asc', `/plan/${encodeURIComponent(demo.plan)}`, '/run/inj-agent', `/trace/${'7a1e000000000000000000000000c0de'}`, '/cost', '/cost?by=day&since=7d', '/sessions', `/sessions/claude-code-${SESSION.id}`, '/health', '/live'];
    for (const p of pages) {
      await open(w, p);
      expect(await w.page.locator('.error').count(), `error box on ${p}`).toBe(0);
    }
    // In-app navigation too: the header links swap pages without a reload.
    await w.page.click('header nav >> text=Cost');
    await w.page.waitForURL(`${collector.url}/cost`);
    await w.page.waitForSelector('[data-testid=cost-table]');
    await w.page.waitForTimeout(2000); // a couple of live polls
    expect(w.problems).toEqual([]);
    expect(w.dialogs).toEqual([]);
    await w.context.close();
  });

  it("the demo plan's tree, waterfall and a model span's detail show the stored values", async () => {
    const w = await watchedPage(browser!);
    await open(w, `/plan/${encodeURIComponent(demo.plan)}`);
    const names = await w.page.$$eval('[role=treeitem] .name', (els) => els.map((e) => e.textContent));
    expect(names).toEqual(['planner', 'developer', 'documenter', 'reviewer', 'tester']);
    expect(await w.page.locator('[role=treeitem][aria-level="3"]').allTextContents()).toEqual([expect.stringContaining('documenter')]);
    expect(await w.page.locator('[role=treeitem]', { hasText: 'reviewer' }).textContent()).toContain('lint failed: 3 problems in src/app.ts');
    const spans = dbRows('SELECT name FROM spans WHERE trace_id = (SELECT trace_id FROM agent_runs r JOIN agents a ON a.id = r.agent_id WHERE a.plan_id = ? LIMIT 1)', demo.plan);
    expect(await w.page.locator('.wf-row').count()).toBe(spans.length);
    expect((await w.page.locator('.wf-row .wf-label').allTextContents()).sort()).toEqual(spans.map((s) => s.name).sort());

    // The planner's model call, picked in the waterfall.
    await w.page.locator('.wf-row', { hasText: 'chat claude-sonnet-4-5' }).click();
    const stored = dbRows(
      `SELECT t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_creation_tokens, t.total_tokens, t.estimated_cost, c.reasoning_tokens
       FROM telemetry t JOIN telemetry_calls c ON c.telemetry_id = t.id JOIN agents a ON a.id = t.agent_id WHERE a.plan_id = ? AND t.model = 'claude-sonnet-4-5'`,
      demo.plan,
    )[0]!;
    const detail = w.page.getByTestId('span-usage');
    const cell = async (id: string): Promise<string> => ((await detail.getByTestId(id).locator('td').nth(1).textContent()) ?? '').trim();
    const n = (v: unknown): string => Number(v).toLocaleString('en-US');
    expect(await cell('tok-input')).toBe(n(stored.input_tokens));
    expect(await cell('tok-cache-read')).toBe(n(stored.cache_read_tokens));
    expect(await cell('tok-cache-write')).toBe(n(stored.cache_creation_tokens));
    expect(await cell('tok-output')).toBe(n(stored.output_tokens));
    expect(await cell('tok-reasoning')).toBe(n(stored.reasoning_tokens));
    expect(await cell('tok-total')).toBe(n(stored.total_tokens));
    expect(stored).toMatchObject({ input_tokens: 12_400, cache_read_tokens: 9_800, cache_creation_tokens: 1_200, output_tokens: 1_850 });
    expect(await w.page.getByTestId('span-cost').textContent()).toContain(usd(stored.estimated_cost as number));
    expect(await w.page.getByTestId('span-price').textContent()).toContain('claude-sonnet-4-5');
    expect(w.page.url()).toContain('span=');

    // The self-hosted model: unpriced, not $0.
    await w.page.locator('.wf-row', { hasText: 'chat qwen3-coder-30b' }).click();
    expect(await w.page.getByTestId('span-cost').textContent()).toContain('unpriced');
    expect(await w.page.getByTestId('span-cost').textContent()).not.toContain('$0');
    expect(w.problems).toEqual([]);
    await w.context.close();
  });

  it('the tree and the tables work from the keyboard', async () => {
    const w = await watchedPage(browser!);
    await open(w, `/plan/${encodeURIComponent(demo.plan)}`);
    await w.page.locator('[role=treeitem]').first().focus();
    await w.page.keyboard.press('ArrowDown');
    await w.page.keyboard.press('ArrowDown');
    expect(await w.page.evaluate(() => document.activeElement?.querySelector('.name')?.textContent)).toBe('documenter');
    await w.page.keyboard.press('ArrowLeft'); // documenter has no children: to its parent
    expect(await w.page.evaluate(() => document.activeElement?.querySelector('.name')?.textContent)).toBe('developer');
    await w.page.keyboard.press('ArrowLeft'); // collapse developer
    expect(await w.page.locator('[role=treeitem]').count()).toBe(4);
    await w.page.keyboard.press('Enter');
    await w.page.waitForFunction(() => document.querySelector('[data-testid=span-detail] h2')?.textContent?.includes('invoke_agent developer'));

    await open(w, `/runs?plan=${encodeURIComponent(demo.plan)}&sort=name&dir=asc`);
    await w.page.locator('[data-testid=runs-table] tbody tr').first().focus();
    await w.page.keyboard.press('ArrowDown');
    await w.page.keyboard.press('Enter');
    await w.page.waitForURL(/\/run\//);
    await w.page.waitForSelector('[role=treeitem]');
    expect(await w.page.locator('h1').textContent()).toBe('Run: documenter');
    expect(w.problems).toEqual([]);
    await w.context.close();
  });

  it('the cost page shows the numbers `agentloupe cost --json` gives for the same filters', async () => {
    const w = await watchedPage(browser!);
    const since = String(Math.floor(Date.now() / 1000) - 86_400);
    for (const [by, query] of [
      ['model', ''],
      ['plan', `&since=${since}`],
      ['day', ''],
      ['provider', `&since=${since}`],
    ] as const) {
      const cli = cliJson(['cost', '--by', by, ...(query ? ['--since', since] : []), '--db', demo.db]) as {
        rows: { key: string | null; calls: number; totalTokens: number; costUsd: number; unpricedCalls: number }[];
        total: { calls: number; totalTokens: number; costUsd: number; unpricedCalls: number };
      };
      await open(w, `/cost?by=${by}${query}`);
      const rows = await cells(w.page, '[data-testid=cost-table] tbody tr');
      expect(rows.map((r) => [r[0], r[1], r[7]])).toEqual(cli.rows.map((r) => [r.key ?? '(none)', String(r.calls), usd(r.costUsd, r.unpricedCalls)]));
      expect((await w.page.getByTestId('cost-total-cost').textContent())?.trim()).toBe(usd(cli.total.costUsd, cli.total.unpricedCalls));
      const exact = w.page.getByTestId('cost-exact');
      expect(Number(await exact.getAttribute('data-cost'))).toBe(cli.total.costUsd);
      expect(Number(await exact.getAttribute('data-tokens'))).toBe(cli.total.totalTokens);
      expect(Number(await exact.getAttribute('data-calls'))).toBe(cli.total.calls);
    }
    expect(w.problems).toEqual([]);
    await w.context.close();
  });

  it('a Claude Code session received over OTLP shows with its exact tokens and cost', async () => {
    const w = await watchedPage(browser!);
    await open(w, '/sessions');
    const row = w.page.locator('[data-testid=sessions-table] tbody tr', { hasText: SESSION.id });
    await expect.poll(() => row.count()).toBe(1);
    const stored = dbRows(
      `SELECT SUM(input_tokens) AS input, SUM(output_tokens) AS output, SUM(cache_read_tokens) AS cacheRead, SUM(cache_creation_tokens) AS cacheWrite,
         SUM(estimated_cost) AS cost, COUNT(*) AS calls FROM telemetry WHERE agent_id = ?`,
      `claude-code-${SESSION.id}`,
    )[0]!;
    // Input includes cache reads and writes (DESIGN.md); the cost is what Claude Code reported,
    // and the unpriced call adds tokens but no cost.
    const u = SESSION.unpriced;
    expect(stored).toMatchObject({ input: SESSION.input + SESSION.cacheRead + SESSION.cacheCreation + u.input, output: SESSION.output + u.output, cacheRead: SESSION.cacheRead, cacheWrite: SESSION.cacheCreation, calls: 3 });
    expect(stored.cost).toBeCloseTo(SESSION.cost, 12);
    expect(await row.textContent()).toContain(usd(SESSION.cost, 1));
    await row.click();
    // One row per user prompt, grouped by Claude Code's prompt.id (the late Task result is turn
    // 1's, though it came after prompt 2): tokens by type, cost (the unpriced turn says so), tool
    // calls, errors, duration from the prompt to its last event.
    await w.page.waitForSelector('[data-testid=session-turns-table] tbody tr');
    const turns = await cells(w.page, '[data-testid=session-turns-table] tbody tr');
    expect(turns.map((t) => [t[0], t[2], ...t.slice(3)])).toEqual([
      ['1', '120 chars', '1', '5,800', '4,000', '800', '300', '0', '$0.040', '3', '1', '20ms', `Bash, ${INJECTIONS.img} (1 failed), Task`],
      ['2', '9 chars', '1', '200', '0', '0', '45', '0', '$0.0021', '0', '1', '2ms', ''],
      ['3', '4 chars', '1', String(u.input), '0', '0', String(u.output), '0', 'unpriced', '0', '0', '1s', ''],
    ]);
    expect(await w.page.getByTestId('session-turn-totals').textContent()).toBe('turns33 tool calls · 2 errors');
    // The injection string in a tool name is text, not markup.
    expect(await w.page.locator('[data-testid=session-turns-table] img').count()).toBe(0);
    const requests = await cells(w.page, '[data-testid=requests-table] tbody tr');
    expect(requests.map((t) => [t[2], t[3], t[4], t[5], t[6], t[8]])).toEqual([
      ['claude-sonnet-4-5', '5,800', '4,000', '800', '300', '$0.040'],
      ['claude-haiku-4-5', '200', '0', '0', '45', '$0.0021'],
      [u.model, String(u.input), '0', '0', String(u.output), 'unpriced'],
    ]);
    expect(await w.page.getByTestId('session-cost').textContent()).toContain(usd(SESSION.cost, 1));
    expect(w.problems).toEqual([]);
    await w.context.close();
  });

  it('a long session pages its model requests, numbered across pages', async () => {
    const id = 'claude-code-long-session';
    // A finished session: the pages the other tests read (running agents, zombies) stay as they were.
    const ops: WriteOp[] = [{ kind: 'agentStart', row: agentRow({ id, agentType: 'claude-code', startTime: 1_780_000_000, status: 'completed', endTime: 1_780_002_000, processId: null }) }];
    for (let i = 0; i < 1205; i++) ops.push({ kind: 'telemetry', row: telemetryRow({ agentId: id, timestamp: 1_780_000_000 + i, inputTokens: 1000 + i }), dedupe: false, agentLive: true });
    writeOps(demo.db, ops);
    const w = await watchedPage(browser!);
    await open(w, `/sessions/${id}?offset=500`);
    const rows = () => cells(w.page, '[data-testid=requests-table] tbody tr');
    const pager = () => w.page.$eval('.pager span', (s) => (s.textContent ?? '').trim());
    let shown = await rows();
    expect(shown).toHaveLength(500);
    expect([shown[0]![0], shown[0]![3], shown.at(-1)![0]]).toEqual(['501', '1,500', '1,000']);
    expect(await pager()).toBe('501–1000 of 1,205');
    await w.page.click('.pager button:last-child');
    await w.page.waitForFunction(() => document.querySelector('.pager span')?.textContent?.startsWith('1001'));
    shown = await rows();
    expect([shown.length, shown[0]![0], shown.at(-1)![0]]).toEqual([205, '1,001', '1,205']);
    expect(w.problems).toEqual([]);
    await w.context.close();
  });

  it('a run written while the page is open appears without a reload; running agents tick', async () => {
    const w = await watchedPage(browser!);
    await open(w, '/runs');
    let navigations = 0;
    w.page.on('framenavigated', (f) => void (f === w.page.mainFrame() && navigations++));
    const name = `late-agent-${Date.now()}`;
    const t = BigInt(Date.now()) * 1_000_000n;
    const body = encodeTracesJson([
      {
        traceId: 'feed'.padEnd(32, '0'),
        spanId: 'feed'.padEnd(16, '0'),
        name: `invoke_agent ${name}`,
        kind: 0,
        startTimeUnixNano: t,
        endTimeUnixNano: t + 1_000_000n,
        statusCode: 0,
        attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name, 'gen_ai.agent.id': name },
        events: [],
        links: [],
        resource: { 'service.name': 'late' },
      },
    ]);
    const res = await fetch(`${collector.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    await collector.flush();
    await w.page.locator('[data-testid=runs-table] tbody tr', { hasText: name }).waitFor({ timeout: 15_000 });
    expect(navigations).toBe(0);

    // The Claude Code session is still running: its elapsed time moves on its own.
    await open(w, '/live');
    const elapsed = w.page.locator('[data-testid=running] tbody tr', { hasText: 'claude-code' }).locator('.ticking');
    const before = await elapsed.textContent();
    await expect.poll(() => elapsed.textContent(), { timeout: 5000 }).not.toBe(before);

    // Paused: a new run does not appear until resumed.
    await open(w, '/runs');
    await w.page.getByTestId('live-toggle').click();
    expect(await w.page.getByTestId('live-toggle').textContent()).toContain('Paused');
    const second = `paused-agent-${Date.now()}`;
    const body2 = JSON.parse(JSON.stringify(body).replaceAll(name, second).replaceAll('feed', 'beef')) as unknown;
    await fetch(`${collector.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body2) });
    await collector.flush();
    await w.page.waitForTimeout(3500);
    expect(await w.page.locator('[data-testid=runs-table] tbody tr', { hasText: second }).count()).toBe(0);
    await w.page.getByTestId('live-toggle').click();
    await w.page.locator('[data-testid=runs-table] tbody tr', { hasText: second }).waitFor({ timeout: 15_000 });
    expect(w.problems).toEqual([]);
    await w.context.close();
  });

  it('names, attributes, tool arguments and captured content with markup show as text; no dialog opens', async () => {
    const w = await watchedPage(browser!);
    const noMarkup = async (where: string): Promise<void> => {
      const found = await w.page.evaluate(() => ({
        imgs: document.querySelectorAll('img').length,
        scripts: [...document.querySelectorAll('script')].filter((s) => !s.src.includes('/ui/assets/')).length,
        jsLinks: [...document.querySelectorAll('a')].filter((a) => a.href.trim().toLowerCase().startsWith('javascript:')).length,
        text: document.body.textContent ?? '',
      }));
      expect({ where, imgs: found.imgs, scripts: found.scripts, jsLinks: found.jsLinks }).toEqual({ where, imgs: 0, scripts: 0, jsLinks: 0 });
    };
    await open(w, '/runs');
    const runRow = w.page.locator('[data-testid=runs-table] tbody tr', { hasText: INJECTIONS.script });
    expect(await runRow.textContent()).toContain(INJECTIONS.js);
    expect(await runRow.textContent()).toContain(INJECTIONS.img);
    await noMarkup('runs');

    // The conversation in the GenAI conventions' shape, by role.
    await open(w, '/run/inj-agent?span=00000000000000b1');
    expect(await w.page.locator('h1').textContent()).toContain(INJECTIONS.script);
    const convo = w.page.getByTestId('conversation');
    expect(await convo.locator('[data-role]').evaluateAll((els) => els.map((e) => e.getAttribute('data-role')))).toEqual(['system', 'user', 'assistant']);
    expect(await convo.locator('[data-role=user]').textContent()).toContain(`Summarise ${INJECTIONS.script} and ${INJECTIONS.img}`);
    expect(await convo.locator('[data-role=assistant]').textContent()).toContain('tool call: open_url');
    expect(await convo.locator('[data-role=assistant]').textContent()).toContain(INJECTIONS.js);
    expect(await w.page.getByTestId('span-attributes').textContent()).toContain(INJECTIONS.img);
    await noMarkup('conversation');

    // The older {"messages": [...]} capture.
    await w.page.locator('.wf-row', { hasText: 'chat claude-haiku-4-5' }).click();
    expect(await convo.locator('[data-role]').evaluateAll((els) => els.map((e) => e.getAttribute('data-role')))).toEqual(['system', 'user', 'assistant']);
    expect(await convo.textContent()).toContain('old shape question');
    expect(await convo.locator('[data-role=assistant]').textContent()).toContain('old shape answer');

    // The failed tool call: arguments as stored, the exception with its stack.
    await w.page.locator('.wf-row', { hasText: 'execute_tool bash' }).click();
    expect(await w.page.getByTestId('tool-args').textContent()).toContain(INJECTIONS.img);
    expect(await w.page.getByTestId('exception').textContent()).toContain(`ToolError: ${INJECTIONS.script}`);
    expect(await w.page.getByTestId('exception').textContent()).toContain(`at run (${INJECTIONS.img})`);
    await noMarkup('tool');

    await open(w, `/plan/${encodeURIComponent(`PLAN-${INJECTIONS.img}`)}`);
    expect(await w.page.locator('h1').textContent()).toBe(`Plan PLAN-${INJECTIONS.img}`);
    await noMarkup('plan');
    await open(w, '/live');
    await noMarkup('live');
    expect(w.dialogs).toEqual([]);
    expect(w.problems).toEqual([]);
    await w.context.close();
  });
});
