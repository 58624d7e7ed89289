import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { query, script, start, waitFor } from './fault-helpers.js';
import { tempDir } from './helpers.js';
import { requireBuild } from './register-helpers.js';

const CALLS = 40;
const TRIALS = 20;

/**
 * Each process opens a new file per trial at the instant the test hands all three (they spin
 * until it), records one agent run with CALLS model calls and closes it. One process per label
 * runs every trial, so 20 trials cost 3 process start-ups, not 60.
 */
const APP = `
import { createInterface } from 'node:readline';
import { createMonitor } from '__INDEX__';
const [dir, label] = process.argv.slice(2);
let trial = 0;
console.log('ready 0');
for await (const line of createInterface({ input: process.stdin })) {
  const at = Number(line);
  while (Date.now() < at) { /* line up with the other processes */ }
  const monitor = createMonitor({ db: dir + '/t' + trial + '.db', registerGlobal: false });
  await monitor.withAgent({ type: label }, async (run) => {
    for (let i = 0; i < ${CALLS}; i++) run.recordUsage({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 1, outputTokens: 1 });
  });
  await monitor.shutdown();
  trial++;
  console.log('ready ' + trial);
  if (trial === ${TRIALS}) break;
}
process.stdin.destroy();
`;

describe('several processes creating one new database at the same moment', () => {
  beforeAll(requireBuild);

  it(`keeps every row of every process (3 processes, ${TRIALS} trials)`, async () => {
    const dir = tempDir();
    const app = script(dir, 'open-app.mjs', APP);
    const children = ['a', 'b', 'c'].map((label) => start(app, [dir, label], {}, dir, 'pipe'));
    for (let trial = 0; trial < TRIALS; trial++) {
      await Promise.all(children.map((c) => waitFor(c, `ready ${trial}\n`)));
      const at = String(Date.now() + 30);
      for (const c of children) c.proc.stdin!.write(`${at}\n`);
    }
    for (const c of children) c.proc.stdin!.end();
    const ends = await Promise.all(children.map((c) => c.done));
    for (const end of ends) {
      expect(end.stderr.trim()).toBe('');
      expect(end.code).toBe(0);
    }
    for (let trial = 0; trial < TRIALS; trial++) {
      const counts = query(join(dir, `t${trial}.db`), 'SELECT a.agent_type, COUNT(t.id) AS n FROM agents a LEFT JOIN telemetry t ON t.agent_id = a.id GROUP BY a.id ORDER BY a.agent_type');
      expect(counts, `trial ${trial}`).toEqual([
        { agent_type: 'a', n: CALLS },
        { agent_type: 'b', n: CALLS },
        { agent_type: 'c', n: CALLS },
      ]);
    }
  }, 120_000);
});
