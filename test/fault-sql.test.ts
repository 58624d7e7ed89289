import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/database.js';
import { tempDir } from './helpers.js';
import { CLI, cleanEnv, requireBuild, run } from './register-helpers.js';

describe('agentloupe sql --timeout', () => {
  beforeAll(requireBuild);

  it('stops a query that never ends with a one-line message and exit 1; quick queries are unaffected', async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    openDatabase(db).close();
    const env = cleanEnv({});
    const endless = await run(process.execPath, [CLI, 'sql', '--db', db, '--timeout', '1', 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c'], { cwd: dir, env, timeoutMs: 60_000 });
    // Killed by the test's own guard it would have signal SIGKILL and no message.
    expect(endless.signal).toBeNull();
    expect(endless.code).toBe(1);
    expect(endless.stderr.trim()).toBe('agentloupe: the query ran longer than 1 s and was stopped (--timeout 1); narrow it, or pass --timeout 0 for no limit');
    const quick = await run(process.execPath, [CLI, 'sql', '--db', db, '--json', 'SELECT 41 + 1 AS answer'], { cwd: dir, env, timeoutMs: 60_000 });
    expect(quick.code).toBe(0);
    expect(JSON.parse(quick.stdout)).toEqual([{ answer: 42 }]);
  }, 90_000);
});
