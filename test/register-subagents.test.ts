/**
 * Sub-agent processes and `agentloupe run`: context crosses process boundaries through the
 * environment, so child processes become child agents in the same trace.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { cleanEnv, CLI, query, REGISTER_URL, requireBuild, run } from './register-helpers.js';

beforeAll(() => requireBuild());

interface AgentRow {
  id: string;
  parent_id: string | null;
  plan_id: string | null;
  agent_type: string;
  status: string;
  exit_code: number | null;
  process_id: number | null;
  log_file: string | null;
  trace_id: string;
}

const AGENTS_SQL = 'SELECT a.*, r.trace_id FROM agents a JOIN agent_runs r ON r.agent_id = a.id ORDER BY a.start_time, a.id';

describe('sub-agent processes', () => {
  it('a parent spawning two Node children under the hook: one trace, three agents, the failing child failed with its code', async () => {
    const dir = tempDir();
    // ESM named imports of the patched builtin, promisified execFile, and spawnSync.
    writeFileSync(
      join(dir, 'planner.mjs'),
      `import { execFile, spawnSync } from 'node:child_process';
       import { promisify } from 'node:util';
       const ok = await promisify(execFile)(process.execPath, ['worker.mjs'], { env: { ...process.env, AGENTLOUPE_AGENT_TYPE: 'coder' } });
       const bad = spawnSync(process.execPath, ['worker.mjs', 'fail'], { env: { ...process.env, AGENTLOUPE_AGENT_TYPE: 'tester' } });
       console.log(JSON.stringify({ ok: ok.stdout.trim(), bad: bad.status }));`,
    );
    writeFileSync(join(dir, 'worker.mjs'), `console.log('worker'); if (process.argv[2] === 'fail') process.exit(4);`);
    const db = join(dir, 'monitoring.db');
    const exit = await run(process.execPath, ['planner.mjs'], {
      cwd: dir,
      env: cleanEnv({ AGENTLOUPE_DB: db, AGENTLOUPE_PLAN_ID: 'REQ-49', NODE_OPTIONS: `--import ${REGISTER_URL}` }),
    });
    expect(exit.code).toBe(0);
    expect(JSON.parse(exit.stdout)).toEqual({ ok: 'worker', bad: 4 });
    const agents = query<AgentRow>(db, AGENTS_SQL);
    expect(agents).toHaveLength(3);
    const planner = agents.find((a) => a.agent_type === 'planner')!;
    const coder = agents.find((a) => a.agent_type === 'coder')!;
    const tester = agents.find((a) => a.agent_type === 'tester')!;
    expect(planner).toMatchObject({ parent_id: null, status: 'completed', exit_code: 0, plan_id: 'REQ-49' });
    expect(coder).toMatchObject({ parent_id: planner.id, status: 'completed', exit_code: 0, plan_id: 'REQ-49' });
    expect(tester).toMatchObject({ parent_id: planner.id, status: 'failed', exit_code: 4, plan_id: 'REQ-49' });
    expect(new Set(agents.map((a) => a.trace_id)).size).toBe(1);
    expect(new Set(agents.map((a) => a.process_id)).size).toBe(3);
    // The children's spans are children of the parent's span.
    const spans = query<{ span_id: string; parent_span_id: string | null; agent_id: string }>(db, "SELECT span_id, parent_span_id, agent_id FROM spans WHERE name LIKE 'invoke_agent%'");
    const plannerSpan = spans.find((s) => s.agent_id === planner.id)!;
    expect(spans.filter((s) => s.parent_span_id === plannerSpan.span_id).map((s) => s.agent_id).sort()).toEqual([coder.id, tester.id].sort());
  }, 60_000);

  it('an uncaught exception fails the run, and Node still prints it and exits 1', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'crash.mjs'), `setTimeout(() => { throw new Error('boom at step 3'); }, 10);`);
    const db = join(dir, 'm.db');
    const exit = await run(process.execPath, ['--import', REGISTER_URL, 'crash.mjs'], { cwd: dir, env: cleanEnv({ AGENTLOUPE_DB: db }) });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain('Error: boom at step 3');
    expect(query<AgentRow & { error_message: string }>(db, 'SELECT * FROM agents')).toEqual([
      expect.objectContaining({ agent_type: 'crash', status: 'failed', exit_code: 1, error_message: 'boom at step 3' }),
    ]);
  }, 30_000);

  it('SIGTERM with no app handler: the run is terminated and flushed, and the process still dies of SIGTERM', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'long.mjs'), `console.log('ready'); setTimeout(() => {}, 20000);`);
    const db = join(dir, 'm.db');
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--import', REGISTER_URL, 'long.mjs'], { cwd: dir, env: cleanEnv({ AGENTLOUPE_DB: db }) });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
    expect([code, signal]).toEqual([null, 'SIGTERM']);
    expect(query<AgentRow>(db, 'SELECT * FROM agents')).toEqual([expect.objectContaining({ status: 'terminated', exit_code: 143 })]);
  }, 30_000);
});

describe('agentloupe run', () => {
  it('records any command as an agent: exit code, failed status, ANSI-free log', async () => {
    const dir = tempDir();
    const db = join(dir, '.agentloupe', 'monitoring.db');
    const exit = await run(process.execPath, [CLI, 'run', '--db', db, '--plan', 'P-1', '--', 'sh', '-c', 'printf "\\033[31mred\\033[0m\\n"; exit 3'], { cwd: dir, env: cleanEnv({}) });
    expect(exit.code).toBe(3);
    expect(exit.stdout).toBe('\u001b[31mred\u001b[0m\n');
    const [agent] = query<AgentRow>(db, AGENTS_SQL);
    expect(agent).toMatchObject({ agent_type: 'sh', status: 'failed', exit_code: 3, plan_id: 'P-1' });
    expect(agent!.log_file).toBe(join(dir, '.agentloupe', 'logs', `${agent!.id}.log`));
    expect(readFileSync(agent!.log_file!, 'utf8')).toBe('red\n');
    expect(agent!.process_id).not.toBe(process.pid);

    const logs = await run(process.execPath, [CLI, 'logs', agent!.id, '--db', db, '--tail', '1'], { cwd: dir, env: cleanEnv({}) });
    expect(logs).toMatchObject({ code: 0, stdout: 'red\n' });
    const missing = await run(process.execPath, [CLI, 'logs', 'nope-123', '--db', db], { cwd: dir, env: cleanEnv({}) });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('agentloupe logs --list');
  }, 30_000);

  it('a Node child gets the hook through NODE_OPTIONS and attaches its calls to the run instead of starting a second agent', async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    const { startFakeLlmServer } = await import('./fake-llm-server.js');
    const fake = await startFakeLlmServer();
    try {
      writeFileSync(
        join(dir, 'bot.mjs'),
        `const r = await fetch(process.env.FAKE_URL + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', messages: [] }) });
         await r.json(); console.log('done');`,
      );
      const exit = await run(process.execPath, [CLI, 'run', '--db', db, '--type', 'bot', '--', process.execPath, 'bot.mjs'], { cwd: dir, env: cleanEnv({ FAKE_URL: fake.url }) });
      expect(exit.code).toBe(0);
      const agents = query<AgentRow>(db, AGENTS_SQL);
      expect(agents).toEqual([expect.objectContaining({ agent_type: 'bot', status: 'completed', exit_code: 0 })]);
      const rows = query<{ agent_id: string; provider: string; total_tokens: number }>(db, 'SELECT agent_id, provider, total_tokens FROM telemetry');
      expect(rows).toEqual([{ agent_id: agents[0]!.id, provider: 'openai', total_tokens: 1500 }]);
      // The call's traceparent belongs to the run's trace.
      expect(String(fake.requests.at(-1)!.headers['traceparent'])).toContain(agents[0]!.trace_id);
    } finally {
      await fake.close();
    }
  }, 30_000);
});
