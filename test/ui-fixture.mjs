// Shared by the UI tests (test/ui-*.test.ts), `npm run screenshots` and the ui bench: databases
// written the real ways (the demo; OTLP into the collector) and Debian's Chromium, headless.
// Plain JavaScript over dist/, so scripts run it with node as well as vitest.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeTracesJson } from '../dist/src/collector/otlp/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(root, 'dist', 'src', 'cli', 'main.js');
export const CHROMIUM = process.env.AGENTLOUPE_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_MISSING = `no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) to run the browser tests`;

/** Strings a page must show as text, never run. */
export const INJECTIONS = {
  script: '<script>alert("x")</script>',
  img: '"><img src=x onerror=alert(1)>',
  js: 'javascript:alert(1)',
};

/** Runs examples/demo.mjs in a new directory; returns the database it wrote and the plan id. */
export function demoDatabase(dir = mkdtempSync(join(tmpdir(), 'agentloupe-ui-demo-'))) {
  const r = spawnSync(process.execPath, [join(root, 'examples', 'demo.mjs')], { cwd: dir, encoding: 'utf8', env: { ...process.env, AGENTLOUPE_DB: '', NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(`demo failed: ${r.stderr}`);
  const plan = /Wrote plan (\S+)/.exec(r.stdout)?.[1];
  if (!plan) throw new Error(`demo printed no plan id:\n${r.stdout}`);
  return { dir, db: join(dir, '.agentloupe', 'monitoring.db'), plan, stdout: r.stdout };
}

/** `agentloupe ...` against a database, as JSON. */
export function cliJson(args) {
  const r = spawnSync(process.execPath, [CLI, ...args, '--json'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(`agentloupe ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export const TRACE_ID = '7a1e000000000000000000000000c0de';
const T0 = BigInt(Math.floor(Date.now() / 1000) - 600) * 1_000_000_000n;
const ms = (n) => T0 + BigInt(n) * 1_000_000n;

function span(id, name, attributes, extra = {}) {
  return {
    traceId: TRACE_ID,
    spanId: id.padStart(16, '0'),
    name,
    kind: 0,
    startTimeUnixNano: ms(0),
    endTimeUnixNano: ms(1000),
    statusCode: 0,
    attributes,
    events: [],
    links: [],
    resource: { 'service.name': 'ui-fixture-agent' },
    ...extra,
  };
}

/**
 * A trace sent over OTLP whose names, attributes, tool arguments and captured content carry the
 * injection strings; one model call in the GenAI conventions' message shape, one in the older
 * `{"messages": [...]}` capture; a tool call that failed with a stack.
 */
export function injectionTrace() {
  const agent = span('a1', `invoke_agent ${INJECTIONS.script}`, {
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': INJECTIONS.script,
    'gen_ai.agent.id': 'inj-agent',
    'agentloupe.agent.type': INJECTIONS.js,
    'agentloupe.plan.id': `PLAN-${INJECTIONS.img}`,
    'agentloupe.agent.category': INJECTIONS.img,
  }, { kind: 0, startTimeUnixNano: ms(0), endTimeUnixNano: ms(5000), statusCode: 2, statusMessage: INJECTIONS.img });
  const chatNew = span('b1', 'chat gpt-4o-mini', {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 1234,
    'gen_ai.usage.output_tokens': 321,
    'gen_ai.system_instructions': JSON.stringify([{ type: 'text', content: 'You are a careful assistant.' }]),
    'gen_ai.input.messages': JSON.stringify([
      { role: 'user', parts: [{ type: 'text', content: `Summarise ${INJECTIONS.script} and ${INJECTIONS.img}` }] },
    ]),
    'gen_ai.output.messages': JSON.stringify([
      { role: 'assistant', parts: [{ type: 'text', content: `Visit ${INJECTIONS.js}` }, { type: 'tool_call', id: 'call_1', name: 'open_url', arguments: { url: INJECTIONS.js } }], finish_reason: 'tool_call' },
    ]),
    [INJECTIONS.img]: INJECTIONS.script,
  }, { parentSpanId: '00000000000000a1', kind: 2, startTimeUnixNano: ms(100), endTimeUnixNano: ms(1400) });
  const chatOld = span('b2', 'chat claude-haiku-4-5', {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'anthropic',
    'gen_ai.request.model': 'claude-haiku-4-5',
    'gen_ai.usage.input_tokens': 500,
    'gen_ai.usage.output_tokens': 40,
    'gen_ai.input.messages': JSON.stringify({ system: 'Old shape system prompt', messages: [{ role: 'user', content: 'old shape question' }] }),
    'gen_ai.output.messages': JSON.stringify({ content: [{ type: 'text', text: 'old shape answer' }] }),
  }, { parentSpanId: '00000000000000a1', kind: 2, startTimeUnixNano: ms(1500), endTimeUnixNano: ms(2200) });
  const tool = span('c1', 'execute_tool bash', {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': 'bash',
    'gen_ai.tool.call.arguments': JSON.stringify({ cmd: `echo '${INJECTIONS.img}'`, href: INJECTIONS.js }),
  }, {
    parentSpanId: '00000000000000a1',
    startTimeUnixNano: ms(2300),
    endTimeUnixNano: ms(4800),
    statusCode: 2,
    statusMessage: 'exit 1',
    events: [{ name: 'exception', timeUnixNano: ms(4800), attributes: { 'exception.type': 'ToolError', 'exception.message': INJECTIONS.script, 'exception.stacktrace': `ToolError: boom\n    at run (${INJECTIONS.img})` } }],
  });
  return encodeTracesJson([agent, chatNew, chatOld, tool]);
}

/**
 * The session's priced calls (tokens, cost) and the one with no price (a model not in the table,
 * no cost_usd): it must read "unpriced", never $0.
 */
export const SESSION = { id: 'ui-session-1', input: 1200, output: 345, cacheRead: 4000, cacheCreation: 800, cost: 0.0421, unpriced: { model: 'claude-unlisted-model', input: 50, output: 5 } };

/**
 * One Claude Code session as Claude Code exports it (OTLP logs, code.claude.com/docs/en/monitoring-usage):
 * three user prompts, each with `prompt.id` on all its events — two priced model requests, two
 * tool results (one failed, its tool named with an injection string), an API error, and an
 * unpriced request.
 */
export function claudeCodeLogs() {
  const kv = (o) => Object.entries(o).map(([key, v]) => ({ key, value: { stringValue: String(v) } }));
  const ev = (t, event, prompt, attrs) => ({
    timeUnixNano: String(ms(t)),
    body: { stringValue: `claude_code.${event}` },
    attributes: kv({ 'event.name': event, 'session.id': SESSION.id, 'prompt.id': prompt, ...attrs }),
  });
  const rec = (t, attrs, prompt = t < 18 ? 'ui-p1' : 'ui-p2') => ev(t, 'api_request', prompt, attrs);
  return {
    resourceLogs: [
      {
        resource: { attributes: kv({ 'service.name': 'claude-code' }) },
        scopeLogs: [
          {
            scope: { name: 'com.anthropic.claude_code.events' },
            logRecords: [
              rec(10, { model: 'claude-sonnet-4-5', input_tokens: 1000, output_tokens: 300, cache_read_tokens: 4000, cache_creation_tokens: 800, cost_usd: 0.04, duration_ms: 2100 }),
              rec(20, { model: 'claude-haiku-4-5', input_tokens: SESSION.input - 1000, output_tokens: SESSION.output - 300, cost_usd: 0.0021, duration_ms: 400 }),
              ev(5, 'user_prompt', 'ui-p1', { prompt_length: 120 }),
              ev(12, 'tool_result', 'ui-p1', { tool_name: 'Bash', success: 'true', duration_ms: 1 }),
              ev(14, 'tool_result', 'ui-p1', { tool_name: INJECTIONS.img, success: 'false', duration_ms: 1 }),
              ev(18, 'user_prompt', 'ui-p2', { prompt_length: 9 }),
              ev(19, 'api_error', 'ui-p2', { model: 'claude-haiku-4-5', error: 'Overloaded', status_code: 529, duration_ms: 1 }),
              // Prompt 1's subagent (Task) finishing after prompt 2 was sent: still turn 1.
              ev(25, 'tool_result', 'ui-p1', { tool_name: 'Task', success: 'true', duration_ms: 20 }),
              ev(30, 'user_prompt', 'ui-p3', { prompt_length: 4 }),
              rec(1030, { model: SESSION.unpriced.model, input_tokens: SESSION.unpriced.input, output_tokens: SESSION.unpriced.output, duration_ms: 900 }, 'ui-p3'),
            ],
          },
        ],
      },
    ],
  };
}

/** Sends the injection trace and the coding-agent session to a collector at `url`. */
export async function feedCollector(url) {
  for (const [path, body] of [
    ['/v1/traces', injectionTrace()],
    ['/v1/logs', claudeCodeLogs()],
  ]) {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  }
}

/** Debian's Chromium through playwright-core, or undefined when it is not installed. */
export async function launchChromium() {
  if (!existsSync(CHROMIUM)) return undefined;
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // headless: true adds --headless; playwright gives each launch a new empty profile directory.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A page that records what must not happen: console errors, failed or erroring requests,
 * uncaught exceptions and dialogs (a dialog is dismissed and counted).
 */
export async function watchedPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: options.colorScheme ?? 'light', extraHTTPHeaders: options.headers });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Loading another address aborts the polls of the page being left: the test leaving, not a
  // failure. An ERR_ABORTED counts only when its document is still the one showing.
  const docOf = new WeakMap();
  let documents = 0;
  const aborted = [];
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) documents++;
  });
  page.on('request', (r) => docOf.set(r, documents));
  page.on('requestfailed', (r) => {
    const text = `request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`;
    if (r.failure()?.errorText === 'net::ERR_ABORTED') aborted.push({ text, doc: docOf.get(r) });
    else problems.push(text);
  });
  const goto = (url) => page.goto(url);
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return {
    page,
    context,
    dialogs,
    goto,
    get problems() {
      return [...problems, ...aborted.filter((a) => a.doc === documents).map((a) => a.text)];
    },
  };
}
