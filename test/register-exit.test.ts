import Database from 'better-sqlite3';
import { createServer, type Server, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { CLI, cleanEnv, REGISTER_JS, REGISTER_URL, requireBuild, run } from './register-helpers.js';

/** A loopback port that nothing listens on (connections are refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** An endpoint that accepts connections and never answers (a hung collector, a black-holing proxy). */
async function silentEndpoint(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * The documented exit bound for exporters (SIGNAL_FLUSH_TIMEOUT_MS), plus EARLY_ANSWER_MS for an
 * export in flight when the app ended, plus room for committing SQLite (the writer thread) on a
 * busy machine. Measured from the app's last line to the process's end, so Node's start-up does
 * not count. Before the fix: 8-11 s, or never.
 */
const EXIT_BOUND_MS = 2000;
const ROOM_MS = 4000;

/** An app that records `n` tool calls on the hook's root run (n > 512 is more than one OTLP batch). */
function appRecording(dir: string, n: number, exitCode: number): string[] {
  const file = join(dir, 'app.mjs');
  writeFileSync(
    file,
    `const { autoInstrumentation } = await import(${JSON.stringify(REGISTER_URL)});
const a = autoInstrumentation();
for (let i = 0; i < ${n}; i++) a.root.recordTool({ name: 'step', args: { i } });
await new Promise((r) => setTimeout(r, 50));
process.exitCode = ${exitCode};
console.log(Date.now());
`,
  );
  return ['--import', REGISTER_JS, file];
}

/** How long the process took to end after the app's last line (which prints Date.now()). */
async function exitDelay(work: Promise<{ stdout: string }>): Promise<number> {
  const out = await work;
  return Date.now() - Number(out.stdout.trim().split('\n').at(-1));
}

describe('exit is bounded with any exporter setting', () => {
  beforeAll(requireBuild);
  const silent: { url: string; close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const s of silent) await s.close();
  });

  it('with no OTLP endpoint configured: SQLite only, no exporter, no warning, exact rows', async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    const env = cleanEnv({ AGENTLOUPE_DB: db, AGENTLOUPE_LOG: '', AGENTLOUPE_AGENT_TYPE: 'local' });
    delete env.OTEL_TRACES_EXPORTER;
    delete env.OTEL_METRICS_EXPORTER;
    const out = await run(process.execPath, appRecording(dir, 3, 0), { cwd: dir, env, timeoutMs: 60_000 });
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    const rows = new Database(db, { readonly: true }).prepare("SELECT a.agent_type, a.status, count(t.id) AS tools FROM agents a JOIN telemetry t ON t.agent_id = a.id GROUP BY a.id").all();
    expect(rows).toEqual([{ agent_type: 'local', status: 'completed', tools: 3 }]);
  }, 90_000);

  it('an endpoint that refuses: the app keeps its exit code, one line says what was not exported, SQLite has the run', async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const env = cleanEnv({
      AGENTLOUPE_DB: db,
      AGENTLOUPE_LOG: '',
      AGENTLOUPE_AGENT_TYPE: 'exiter',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    });
    delete env.OTEL_TRACES_EXPORTER;
    delete env.OTEL_METRICS_EXPORTER;
    const out = await run(process.execPath, ['--import', REGISTER_JS, '-e', 'process.exitCode = 5'], { cwd: dir, env, timeoutMs: 60_000 });
    expect(out.signal).toBeNull();
    expect(out.code).toBe(5);
    const lines = out.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`could not export to ${endpoint}/v1/traces (ECONNREFUSED)`);
    const rows = new Database(db, { readonly: true }).prepare('SELECT agent_type, status, exit_code FROM agents').all();
    expect(rows).toEqual([{ agent_type: 'exiter', status: 'failed', exit_code: 5 }]);

    const cmd = await run(process.execPath, [CLI, 'run', '--db', db, '--type', 'shell', '--', 'sh', '-c', 'exit 4'], { cwd: dir, env, timeoutMs: 60_000 });
    expect(cmd.code).toBe(4);
    expect(cmd.stderr.trim().split('\n')).toHaveLength(1);
    expect(cmd.stderr).toContain('could not export to');
    const shell = new Database(db, { readonly: true }).prepare("SELECT status, exit_code FROM agents WHERE agent_type = 'shell'").all();
    expect(shell).toEqual([{ status: 'failed', exit_code: 4 }]);
  }, 90_000);

  for (const interval of ['200', '1000', '2000']) {
    it(`endpoint down, OTEL_METRIC_EXPORT_INTERVAL=${interval}, more spans than one export batch: exits within the bound`, async () => {
      const dir = tempDir();
      const db = join(dir, 'm.db');
      const env = cleanEnv({
        AGENTLOUPE_DB: db,
        AGENTLOUPE_AGENT_TYPE: 'busy',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_METRIC_EXPORT_INTERVAL: interval,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
      });
      const running = run(process.execPath, appRecording(dir, 1500, 3), { cwd: dir, env, timeoutMs: 60_000 });
      const delay = await exitDelay(running);
      const out = await running;
      console.log(`exit delay, endpoint down, OTEL_METRIC_EXPORT_INTERVAL=${interval}: ${delay} ms`);
      expect(out.signal).toBeNull();
      expect(out.code).toBe(3);
      expect(delay).toBeLessThan(EXIT_BOUND_MS + ROOM_MS);
      const [row] = new Database(db, { readonly: true }).prepare('SELECT count(*) AS n FROM telemetry').all() as { n: number }[];
      expect(row!.n).toBe(1500);
    }, 90_000);
  }

  it('an endpoint that accepts and never answers: exit waits the bound at most, and says so in one line', async () => {
    const endpoint = await silentEndpoint();
    silent.push(endpoint);
    const dir = tempDir();
    const db = join(dir, 'm.db');
    const env = cleanEnv({
      AGENTLOUPE_DB: db,
      AGENTLOUPE_LOG: '',
      AGENTLOUPE_AGENT_TYPE: 'hung',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_METRIC_EXPORT_INTERVAL: '200',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint.url,
    });
    const running = run(process.execPath, appRecording(dir, 600, 0), { cwd: dir, env, timeoutMs: 60_000 });
    const delay = await exitDelay(running);
    const out = await running;
    console.log(`exit delay, endpoint that never answers: ${delay} ms`);
    expect(out.code).toBe(0);
    expect(delay).toBeLessThan(EXIT_BOUND_MS + ROOM_MS);
    const lines = out.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`exporters did not finish within ${EXIT_BOUND_MS} ms`);
    const [row] = new Database(db, { readonly: true }).prepare("SELECT count(*) AS n FROM agents WHERE status = 'completed'").all() as { n: number }[];
    expect(row!.n).toBe(1);
  }, 90_000);
});
