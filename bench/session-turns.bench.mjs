// Issue 15, sessions page: how long the turns of a long coding-agent session take to answer. One
// Claude Code session (1,000 prompts, each with 10 model requests and 10 tool results, as Claude
// Code documents its events; --quick: 100 prompts) is sent over OTLP/HTTP to a real collector;
// then the median time of the calls the session page makes, over HTTP on 127.0.0.1 (goal < 100 ms).
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector } from '../dist/src/collector/server.js';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const kv = (o) => Object.entries(o).map(([key, v]) => ({ key, value: { stringValue: String(v) } }));

export default async function ({ quick = false } = {}) {
  const prompts = quick ? 100 : 1000;
  const perPrompt = 10;
  const runs = quick ? 3 : 7;
  const dir = mkdtempSync(join(tmpdir(), 'agentloupe-turns-bench-'));
  const collector = await startCollector({ port: 0, db: join(dir, 'turns.db') });
  const t0 = BigInt(Date.now() - 86_400_000) * 1_000_000n;
  const at = (ms) => String(t0 + BigInt(ms) * 1_000_000n);
  const ev = (ms, event, prompt, attrs) => ({
    timeUnixNano: at(ms),
    body: { stringValue: `claude_code.${event}` },
    attributes: kv({ 'event.name': event, 'session.id': 'bench-session', 'prompt.id': `p${prompt}`, ...attrs }),
  });
  const results = { prompts, modelRequests: prompts * perPrompt, toolResults: prompts * perPrompt };
  try {
    const started = performance.now();
    for (let p0 = 0; p0 < prompts; p0 += 20) {
      const records = [];
      for (let p = p0; p < Math.min(prompts, p0 + 20); p++) {
        const base = p * 60_000;
        records.push(ev(base, 'user_prompt', p, { prompt_length: 80 }));
        for (let i = 0; i < perPrompt; i++) {
          records.push(ev(base + 1000 + i * 2000, 'api_request', p, { model: 'claude-sonnet-4-5', input_tokens: 100 + i, output_tokens: 50, cache_read_tokens: 1000 * i, cache_creation_tokens: 10, cost_usd: 0.001, duration_ms: 900 }));
          records.push(ev(base + 2000 + i * 2000, 'tool_result', p, { tool_name: i % 2 ? 'Bash' : 'Read', success: i % 7 ? 'true' : 'false', duration_ms: 30 }));
        }
      }
      const body = JSON.stringify({ resourceLogs: [{ resource: { attributes: kv({ 'service.name': 'claude-code' }) }, scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events' }, logRecords: records }] }] });
      const res = await fetch(`${collector.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (res.status !== 200) throw new Error(`logs: ${res.status} ${await res.text()}`);
    }
    await collector.flush();
    results['ingest, OTLP/HTTP to stored (s)'] = Number(((performance.now() - started) / 1000).toFixed(1));

    const get = async (p) => {
      const res = await fetch(`${collector.url}/ui/api/v1/${p}`);
      if (res.status !== 200) throw new Error(`${p}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const turns = await get('sessions/claude-code-bench-session/turns');
    if (turns.turns.length !== prompts || turns.turns.some((t) => t.calls !== perPrompt || t.toolCalls !== perPrompt)) throw new Error('turns: wrong grouping');
    const time = async (p) => {
      await get(p);
      const xs = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await get(p);
        xs.push(performance.now() - t);
      }
      return Number(median(xs).toFixed(1));
    };
    results['sessions (Sessions list) (ms)'] = await time('sessions?limit=50');
    results['sessions/:id (Session) (ms)'] = await time('sessions/claude-code-bench-session');
    results['sessions/:id/turns (Session) (ms)'] = await time('sessions/claude-code-bench-session/turns');
  } finally {
    await collector.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'session-turns', results, notes: [`median of ${runs} after one warm-up, over HTTP on 127.0.0.1; the machine is shared`] };
}
