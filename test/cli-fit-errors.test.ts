import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFixedDb, cli, T0, telemetryRow, writeOps } from './cli-fixture.js';
import { tempDir } from './helpers.js';

function fixedDb(): string {
  const path = join(tempDir(), 'monitoring.db');
  buildFixedDb(path);
  return path;
}

function widest(text: string): number {
  return Math.max(...text.split('\n').map((l) => l.length));
}

describe('tables fit the terminal', () => {
  const tables = [['agents'], ['plans'], ['tools'], ['cost', '--by', 'day'], ['cost', '--by', 'agent'], ['telemetry', 'developer-0002'], ['stats']];

  it('at 80 columns, and at 80 when output is not a terminal and COLUMNS is unset', () => {
    const db = fixedDb();
    for (const env of [{ COLUMNS: '80' }, { COLUMNS: undefined }]) {
      for (const args of tables) {
        const r = cli([...args, '--db', db], { env });
        expect(r.status, args.join(' ')).toBe(0);
        expect(widest(r.stdout), `${args.join(' ')} with COLUMNS=${env.COLUMNS}:\n${r.stdout}`).toBeLessThanOrEqual(80);
      }
    }
  }, 120_000);

  it('uses COLUMNS when it is wider, and says which columns it left out', () => {
    const db = fixedDb();
    const narrow = cli(['agents', '--db', db], { env: { COLUMNS: '60' } });
    expect(widest(narrow.stdout)).toBeLessThanOrEqual(60);
    expect(narrow.stdout).toMatch(/^\(--wide adds type, plan, parent, exit, started\)$/m);
    expect(narrow.stdout).toContain('reviewer-0003'); // ids are kept whole while they fit
    const roomy = cli(['agents', '--db', db], { env: { COLUMNS: '200' } });
    expect(roomy.stdout.split('\n')[0]).toMatch(/^id +type +plan +parent +status +exit +started +duration +error$/);
    expect(roomy.stdout).toContain('lint failed: 3 errors');
    expect(roomy.stdout).not.toContain('--wide adds');
  });

  it('--wide shows every column in full at any width', () => {
    const db = fixedDb();
    const heads: [string[], RegExp][] = [
      [['agents'], /^id +type +plan +parent +status +exit +started +duration +error$/],
      [['plans'], /^plan +status +agents +done +failed +term +running +started +duration +tokens +cost$/],
      [['tools'], /^tool +calls +approved +denied +unrecorded +agents +avg time +last call +by approval type$/],
      [['cost', '--by', 'day'], /^day +calls +input +cache read +cache write +output +total +cost$/],
    ];
    for (const [args, head] of heads) {
      const r = cli([...args, '--wide', '--db', db], { env: { COLUMNS: '40' } });
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout.split('\n')[0], args.join(' ')).toMatch(head);
      expect(r.stdout).not.toContain('…');
    }
    expect(cli(['agents', '--wide', '--db', db], { env: { COLUMNS: '40' } }).stdout).toContain('lint failed: 3 errors');
  });
});

describe('one style across commands', () => {
  it('agents --csv names its columns in snake_case, as export --format csv does', () => {
    const db = fixedDb();
    const csv = cli(['agents', '--csv', '--db', db]).stdout.split('\n')[0]!.split(',');
    expect(csv).toEqual(['id', 'parent_id', 'plan_id', 'agent_type', 'name', 'status', 'process_id', 'start_time', 'end_time', 'duration_ms', 'exit_code', 'error_message', 'log_file', 'category', 'trace_id']);
    const exported = cli(['export', '--table', 'agents', '--format', 'csv', '--db', db]).stdout.split('\r\n')[0]!.split(',');
    for (const c of csv.filter((c) => !['name', 'duration_ms', 'category', 'trace_id'].includes(c))) expect(exported).toContain(c);
  });

  it('stats says how many models its top list shows out of how many', () => {
    const db = fixedDb();
    expect(cli(['stats', '--db', db]).stdout).toContain('Top models (top 3 of 3)');
    writeOps(
      db,
      ['m-a', 'm-b', 'm-c', 'm-d'].map((model, i) => ({
        kind: 'telemetry' as const,
        dedupe: false,
        row: telemetryRow({ agentId: 'solo-0004', timestamp: T0 + 3700 + i, provider: 'acme', model, inputTokens: 10, outputTokens: 1, unpriced: true }),
      })),
    );
    const out = cli(['stats', '--db', db]).stdout;
    expect(out).toContain('Top models (top 5 of 7; agentloupe cost --by model lists all)');
    expect((JSON.parse(cli(['stats', '--json', '--db', db]).stdout) as { modelCount: number }).modelCount).toBe(7);
  });

  it('logs --list shows aligned local times like every other table', () => {
    const dir = tempDir();
    const db = join(dir, 'monitoring.db');
    buildFixedDb(db);
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'architect-0001.log'), 'hello\n');
    const r = cli(['logs', '--list', '--db', db]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('\t');
    expect(r.stdout.split('\n')[0]).toMatch(/^agent +bytes +modified$/);
    expect(r.stdout.split('\n')[1]).toMatch(/^architect-0001 +6 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('telemetry totals count cache reads as show does', () => {
    const db = fixedDb();
    const line = (args: string[]): string => cli([...args, '--db', db]).stdout.split('\n').find((l) => l.startsWith('tokens'))!;
    expect(line(['telemetry', 'architect-0001'])).toBe('tokens  2.3k  (input 1.5k, cache read 200, output 800)');
    expect(line(['show', 'architect-0001']).replace(/^tokens +/, '')).toBe('2.3k  (input 1.5k, cache read 200, output 800)');
  });
});

describe('errors say what is wrong and what to do, in one line', () => {
  const oneLine = (stderr: string): void => {
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it('a busy port for the collector: exit 1, which address, what to do', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dir = tempDir();
      // Asynchronous: the blocking server lives in this process.
      const { spawn } = await import('node:child_process');
      const { CLI } = await import('./cli-fixture.js');
      const child = spawn(process.execPath, [CLI, 'collector', '--port', String(port), '--grpc-port', '0', '--db', join(dir, 'c.db')], { env: { ...process.env, NO_COLOR: '1' } });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(1);
      expect(stderr).toBe(`agentloupe: 127.0.0.1:${port} is already in use by another program (another collector?). Stop it, or pick another port with --port (0 picks a free one).\n`);
    } finally {
      blocker.close();
    }
  });

  it('a busy gRPC port: exit 1, one line of ours (none of grpc-js), what to do', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { spawn } = await import('node:child_process');
      const { CLI } = await import('./cli-fixture.js');
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
      delete env.GRPC_VERBOSITY;
      const child = spawn(process.execPath, [CLI, 'collector', '--port', '0', '--grpc-port', String(port), '--db', join(tempDir(), 'c.db')], { env });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(1);
      oneLine(stderr);
      expect(stderr).toMatch(new RegExp(`^agentloupe: cannot listen for OTLP/gRPC on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*\\(use --grpc-port to pick another port, 0 to turn gRPC off\\)\n$`));
    } finally {
      blocker.close();
    }
  });

  it('a 0-byte file holds no data yet for readers, and is a new database for writers', () => {
    const path = join(tempDir(), 'empty.db');
    writeFileSync(path, '');
    const r = cli(['agents', '--db', path]);
    expect(r.status).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toBe(`agentloupe: ${path} holds no data yet: nothing has been recorded in it. Run an instrumented agent (or npm run demo) to fill it, or pass --db PATH to read another database.\n`);
    expect(r.stderr).not.toContain('migrate');
    const m = cli(['migrate', '--db', path]);
    expect(m.status).toBe(0);
    expect(cli(['agents', '--db', path]).stdout).toBe('no agents match\n');
  });

  it('--db pointing at a directory: exit 2, names the file to give', () => {
    const dir = tempDir();
    for (const cmd of [['agents'], ['stats'], ['prune', '--older-than', '1d'], ['doctor']]) {
      const r = cli([...cmd, '--db', dir]);
      if (cmd[0] === 'doctor') {
        expect(r.status).toBe(1);
        expect(r.stdout).toContain('is a directory');
        continue;
      }
      expect(r.status, cmd.join(' ')).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toBe(`agentloupe: ${dir} is a directory, not a database file: give the file's path (for example --db ${join(dir, 'monitoring.db')}), or set AGENTLOUPE_DB to it.\n`);
    }
  }, 60_000);

  it('a negative --limit must be a positive whole number; 0 is allowed where it means something', () => {
    const db = fixedDb();
    for (const cmd of [['agents'], ['plans'], ['tools']]) {
      const r = cli([...cmd, '--limit', '-3', '--db', db]);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe('agentloupe: --limit must be a positive whole number (1, 2, 3 ...), got "-3"\n');
    }
    const sql = cli(['sql', 'SELECT id FROM agents', '--limit', '-1', '--db', db]);
    expect(sql.status).toBe(2);
    expect(sql.stderr).toBe('agentloupe: --limit must be a whole number, 0 or more (0: every row), got "-1"\n');
    expect(cli(['sql', 'SELECT id FROM agents', '--limit', '0', '--json', '--db', db]).status).toBe(0);
  }, 60_000);
});
