import type { Command } from 'commander';
import type { StatsSummary } from '../../store/reader.js';
import { parseLimit, parseRange, print, printJson, withStore, type ReadOptions } from '../context.js';
import * as f from '../format.js';

interface StatsOptions extends ReadOptions {
  since?: string;
  until?: string;
  recent?: string;
  wide?: boolean;
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('summary of agent runs: status and type distribution, durations, tokens, cost, top models, recent agents')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .option('--since <time>', 'only runs started since (24h, 7d, 2026-11-01)')
    .option('--until <time>', 'only runs started until')
    .option('--recent <n>', 'how many recent agents to list', '10')
    .option('--wide', 'every column in full, whatever the terminal width')
    .addHelpText('after', '\nExample:\n  agentloupe stats --since 24h')
    .action((opts: StatsOptions) => {
      const range = parseRange(opts);
      const recent = parseLimit(opts.recent ?? '10', '--recent', { zero: 'no recent runs listed' });
      withStore(opts, (store) => {
        const s = store.stats({ ...range, recent });
        if (opts.json) printJson(s);
        else print(renderStats(s, { wide: opts.wide }));
      });
    });
}

export function renderStats(s: StatsSummary, options: f.TableOptions = {}): string {
  const out: string[] = [];
  out.push(f.heading('Agents'));
  out.push(
    f.pairs([
      ['total', String(s.agents.total)],
      ...Object.entries(s.agents.byStatus).map(([k, v]): [string, string] => [k, v > 0 ? f.status(String(v)) : '0']),
      ['failure rate', f.percent(s.agents.failureRate)],
      ['duration p50', f.duration(s.durationMs.p50)],
      ['duration p95', f.duration(s.durationMs.p95)],
      ['duration p99', f.duration(s.durationMs.p99)],
      ...(s.durationMs.sampleSize !== undefined ? [['durations from', `a sample of ${s.durationMs.sampleSize} finished runs`] as [string, string]] : []),
    ]),
  );
  if (s.agents.byType.length > 0) {
    out.push('', f.heading('By type'));
    out.push(f.table(['type', 'runs'], s.agents.byType.map((t) => [t.type, String(t.count)]), { right: [1] }));
  }
  out.push('', f.heading('Tokens and cost'));
  out.push(
    f.pairs([
      ['input', `${f.tokens(s.tokens.input)}  (cache read ${f.tokens(s.tokens.cacheRead)}, cache write ${f.tokens(s.tokens.cacheCreation)})`],
      ['output', `${f.tokens(s.tokens.output)}  (reasoning ${f.tokens(s.tokens.reasoning)})`],
      ['total', f.tokens(s.tokens.total)],
      ['model calls', String(s.cost.pricedCalls + s.cost.unpricedCalls)],
      ['tool calls', String(s.toolCalls)],
      ['cost', f.usd(s.cost.totalUsd, s.cost.unpricedCalls)],
    ]),
  );
  if (s.topModels.length > 0) {
    const more = s.modelCount > s.topModels.length ? '; agentloupe cost --by model lists all' : '';
    out.push('', `${f.heading('Top models')} (top ${s.topModels.length} of ${s.modelCount}${more})`);
    out.push(
      f.table(
        ['model', 'calls', 'tokens', 'cost'],
        s.topModels.map((m) => [m.model, String(m.calls), f.tokens(m.totalTokens), f.usd(m.costUsd, m.unpricedCalls)]),
        { right: [1, 2, 3], wide: options.wide },
      ),
    );
  }
  if (s.recent.length > 0) {
    out.push('', f.heading('Recent agents'));
    out.push(
      f.fitTable(
        [
          { header: 'id', min: 20 },
          { header: 'type', min: 8, drop: 1 },
          { header: 'plan', min: 10, drop: 2 },
          { header: 'status' },
          { header: 'started', drop: 3 },
          { header: 'duration', right: true },
          { header: 'error', min: 8 },
        ],
        s.recent.map((a) => [a.id, a.agentType, a.planId ?? '-', f.status(a.status), f.time(a.startTime), f.duration(a.durationMs), a.errorMessage ?? '']),
        options,
      ),
    );
  }
  return out.join('\n');
}
