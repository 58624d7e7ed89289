import Database from 'better-sqlite3';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { CLI, cleanEnv, REGISTER_JS, requireBuild, run } from './register-helpers.js';

/** A loopback port that nothing listens on (connections are refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('exit with an OTLP endpoint that is down', () => {
  beforeAll(requireBuild);

  it('the app still exits with its own code, says why exports were skipped, and SQLite has the run', async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const env = cleanEnv({
      AGENTLOUPE_DB: db,
      AGENTLOUPE_LOG: '',
      AGENTLOUPE_AGENT_TYPE: 'exiter',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    });
    const out = await run(process.execPath, ['--import', REGISTER_JS, '-e', 'process.exitCode = 5'], { cwd: dir, env, timeoutMs: 60_000 });
    expect(out.signal).toBeNull();
    expect(out.code).toBe(5);
    expect(out.stderr).toContain(`exporters did not finish within 2000 ms (is anything listening at ${endpoint}?)`);
    const rows = new Database(db, { readonly: true }).prepare('SELECT agent_type, status, exit_code FROM agents').all();
    expect(rows).toEqual([{ agent_type: 'exiter', status: 'failed', exit_code: 5 }]);

    const cmd = await run(process.execPath, [CLI, 'run', '--db', db, '--type', 'shell', '--', 'sh', '-c', 'exit 4'], { cwd: dir, env, timeoutMs: 60_000 });
    expect(cmd.code).toBe(4);
    expect(cmd.stderr).toContain('could not export the run');
    const shell = new Database(db, { readonly: true }).prepare("SELECT status, exit_code FROM agents WHERE agent_type = 'shell'").all();
    expect(shell).toEqual([{ status: 'failed', exit_code: 4 }]);
  }, 90_000);
});
