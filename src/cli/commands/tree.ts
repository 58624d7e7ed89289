import type { Command } from 'commander';
import type { TreeNode } from '../../store/reader.js';
import { CliError, print, printJson, UsageError, withStore, type ReadOptions } from '../context.js';
import * as f from '../format.js';

interface TreeOptions extends ReadOptions {
  plan?: string;
  trace?: string;
}

export function registerTree(program: Command): void {
  program
    .command('tree')
    .description('the agent hierarchy under an agent, a plan or a trace, with tokens and cost per node and per subtree')
    .argument('[agent-id]', 'root agent')
    .option('--plan <id>', 'every agent of this plan')
    .option('--trace <trace-id>', 'every agent of this trace')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  agentloupe tree --plan REQ-49\n  agentloupe tree architect-3f9a1c2e4b5d')
    .action((agentId: string | undefined, opts: TreeOptions) => {
      const given = [agentId, opts.plan, opts.trace].filter((x) => x !== undefined).length;
      if (given !== 1) throw new UsageError('give exactly one of: an agent id, --plan ID, --trace ID');
      withStore(opts, (store) => {
        const roots = store.tree(agentId !== undefined ? { agentId } : opts.plan !== undefined ? { planId: opts.plan } : { traceId: opts.trace! });
        if (roots.length === 0) {
          throw new CliError(
            opts.plan !== undefined
              ? `no agents in plan "${opts.plan}" (list plans with: agentloupe plans)`
              : `no agent runs in trace "${opts.trace}" (trace ids are 32 hex digits; see agentloupe show <agent-id>)`,
          );
        }
        if (opts.json) printJson(roots);
        else print(renderTree(roots));
      });
    });
}

export function renderTree(roots: TreeNode[]): string {
  const lines: string[] = [];
  const walk = (node: TreeNode, prefix: string, last: boolean, root: boolean): void => {
    const a = node.agent;
    const branch = root ? '' : last ? '└─ ' : '├─ ';
    const label = a.name !== a.agentType ? `${a.agentType} (${a.name})` : a.agentType;
    const parts = [`${f.paint(label, 'bold')} ${f.paint(a.id, 'dim')}`, f.status(a.status), f.duration(a.durationMs)];
    if (node.own.tokens > 0 || node.own.calls > 0) parts.push(`${f.tokens(node.own.tokens)} tok`, f.usd(node.own.costUsd, node.own.unpricedCalls));
    if (node.children.length > 0) {
      parts.push(f.paint(`[subtree: ${node.subtree.agents} agents, ${f.tokens(node.subtree.tokens)} tok, ${f.usd(node.subtree.costUsd, node.subtree.unpricedCalls)}]`, 'dim'));
    }
    if (a.status !== 'completed' && a.errorMessage) parts.push(f.paint(`: ${f.clip(a.errorMessage, 80)}`, 'red'));
    lines.push(`${prefix}${branch}${parts.join('  ')}`);
    const childPrefix = root ? '' : prefix + (last ? '   ' : '│  ');
    node.children.forEach((c, i) => walk(c, childPrefix, i === node.children.length - 1, false));
  };
  roots.forEach((r) => walk(r, '', true, true));
  return lines.join('\n');
}
