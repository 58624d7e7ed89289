import type { Command } from 'commander';
import { print, printJson, withStore, type ReadOptions } from '../context.js';
import * as f from '../format.js';

export function registerTelemetry(program: Command): void {
  program
    .command('telemetry')
    .description("one agent's model and tool calls, with token and cost totals")
    .argument('<agent-id>', 'the agent run')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .option('--wide', 'every column in full, whatever the terminal width')
    .addHelpText('after', '\nExample:\n  agentloupe telemetry developer-3f9a1c2e4b5d --json')
    .action((agentId: string, opts: ReadOptions & { wide?: boolean }) => {
      withStore(opts, (store) => {
        const agent = store.getAgent(agentId);
        const entries = store.getAgentTelemetry(agentId);
        const totals = store.getTotalTokens(agentId);
        const costUsd = store.getTotalCost(agentId);
        const unpricedCalls = entries.filter((e) => e.unpriced).length;
        if (opts.json) {
          printJson({ agent, totals, costUsd, unpricedCalls, entries });
          return;
        }
        const out = [`${f.heading(agent.agentType)} ${agent.id}  ${f.status(agent.status)}`];
        if (entries.length === 0) out.push('no telemetry recorded for this agent');
        else
          out.push(
            f.fitTable(
              [
                { header: 'time' },
                { header: 'kind', drop: 2 },
                { header: 'model / tool', min: 12 },
                { header: 'provider', min: 8, drop: 3 },
                { header: 'input', right: true },
                { header: 'cache r/w', right: true, drop: 1 },
                { header: 'output', right: true },
                { header: 'cost', right: true },
                { header: 'approval', min: 8 },
              ],
              entries.map((e) => [
                f.time(e.timestamp),
                e.toolName ? 'tool' : 'model',
                e.toolName ?? e.model ?? '-',
                e.provider ?? '-',
                e.toolName ? '' : f.tokens(e.inputTokens),
                e.toolName ? '' : `${f.tokens(e.cacheReadTokens)}/${f.tokens(e.cacheCreationTokens)}`,
                e.toolName ? '' : f.tokens(e.outputTokens),
                e.toolName ? '' : f.usd(e.estimatedCost, e.unpriced ? 1 : 0),
                e.toolName ? `${e.toolApproved === null ? '-' : e.toolApproved ? 'approved' : 'denied'}${e.toolApprovalType ? ` (${e.toolApprovalType})` : ''}` : '',
              ]),
              { wide: opts.wide },
            ),
          );
        out.push('', f.pairs([
          ['tokens', f.tokenSummary(totals)],
          ['cost', f.usd(costUsd, unpricedCalls)],
        ]));
        print(out.join('\n'));
      });
    });
}
