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
    .addHelpText('after', '\nExample:\n  agentloupe telemetry developer-3f9a1c2e4b5d --json')
    .action((agentId: string, opts: ReadOptions) => {
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
            f.table(
              ['time', 'kind', 'model / tool', 'provider', 'input', 'cache r/w', 'output', 'cost', 'approval'],
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
              { right: [4, 5, 6, 7] },
            ),
          );
        out.push('', f.pairs([
          ['tokens', `${f.tokens(totals.total)} (input ${f.tokens(totals.input)}, output ${f.tokens(totals.output)})`],
          ['cost', f.usd(costUsd, unpricedCalls)],
        ]));
        print(out.join('\n'));
      });
    });
}
