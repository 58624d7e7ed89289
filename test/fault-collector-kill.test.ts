import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { integrity, otlpRequest, post, query, sleep, startCollectorProcess } from './fault-helpers.js';
import { tempDir } from './helpers.js';
import { requireBuild } from './register-helpers.js';

const SENDERS = 4;
const CYCLES = 5;
const CALLS = 49;

const traceOf = (s: number, r: number): string => ((s + 1) * 1_000_000 + r).toString(16).padStart(32, "0");

describe('collector kill -9 under load', () => {
  beforeAll(requireBuild);

  it(`every request answered 200 is stored whole (${CYCLES} cycles, ${SENDERS} senders); a resend after restart adds no duplicates`, async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    const acknowledged: [number, number][] = [];
    const sent: [number, number][] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const { child, url } = await startCollectorProcess(db, dir);
      let stop = false;
      const sender = async (s: number): Promise<void> => {
        for (let r = 0; !stop; r++) {
          sent.push([s, r]);
          const res = await post(url, otlpRequest(s, r, CALLS));
          if (res.status === 200) acknowledged.push([s, r]);
          else if (res.status === 0) return; // the collector is gone
          else await sleep(50);
        }
      };
      const senders = Array.from({ length: SENDERS }, (_, i) => sender(cycle * SENDERS + i));
      await sleep(800 + Math.random() * 1200);
      child.proc.kill('SIGKILL');
      stop = true;
      await Promise.all(senders);
      await child.done;
      // Whole: the agent run, every span and every model call of each acknowledged request.
      const spans = new Map(query<{ trace_id: string; n: number }>(db, 'SELECT trace_id, COUNT(*) AS n FROM spans GROUP BY trace_id').map((r) => [r.trace_id, r.n]));
      const calls = new Map(query<{ trace_id: string; n: number }>(db, 'SELECT trace_id, COUNT(*) AS n FROM telemetry_calls GROUP BY trace_id').map((r) => [r.trace_id, r.n]));
      const missing = acknowledged.filter(([s, r]) => spans.get(traceOf(s, r)) !== CALLS + 1 || calls.get(traceOf(s, r)) !== CALLS);
      expect(missing.map(([s, r]) => [s, r, spans.get(traceOf(s, r)), calls.get(traceOf(s, r))]), `cycle ${cycle}: acknowledged but not stored whole`).toEqual([]);
      expect(integrity(db)).toBe('ok');
    }
    expect(acknowledged.length).toBeGreaterThan(CYCLES * SENDERS);

    // Restart and resend everything (acknowledged or not, as exporters retrying would).
    const { child, url } = await startCollectorProcess(db, dir);
    try {
      for (let i = 0; i < sent.length; i += SENDERS) {
        await Promise.all(
          sent.slice(i, i + SENDERS).map(async ([s, r]) => {
            for (let attempt = 0; attempt < 50; attempt++) {
              if ((await post(url, otlpRequest(s, r, CALLS))).status === 200) return;
              await sleep(100);
            }
            throw new Error(`resend of ${s}/${r} never accepted`);
          }),
        );
      }
    } finally {
      child.proc.kill('SIGTERM');
      await child.done;
    }
    const dupSpans = query(db, 'SELECT trace_id, span_id, COUNT(*) AS n FROM spans GROUP BY trace_id, span_id HAVING n > 1');
    const dupCalls = query(db, 'SELECT trace_id, span_id, COUNT(*) AS n FROM telemetry_calls GROUP BY trace_id, span_id HAVING n > 1');
    expect(dupSpans).toEqual([]);
    expect(dupCalls).toEqual([]);
    expect(query(db, 'SELECT COUNT(*) AS n FROM telemetry')[0]).toEqual({ n: sent.length * CALLS });
    expect(query(db, 'SELECT COUNT(*) AS n FROM agents')[0]).toEqual({ n: sent.length });
    expect(query<{ n: number }>(db, 'SELECT SUM(execution_count) AS n FROM agent_usage')[0]!.n).toBe(sent.length);
  }, 150_000);
});
