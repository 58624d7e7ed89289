import type { Command } from 'commander';
import type { AgentRecord, TelemetryEntry, TokenTotals } from '../../store/reader.js';
import { parseLimit, print, printJson, resolveDbPath, withStore, type ReadOptions } from '../context.js';
import * as f from '../format.js';
import { tailAgentLog, type LogTail } from '../log-tail.js';
import { conversationLines, parseMessages, type ChatMessage } from '../../telemetry/content.js';

interface ShowOptions extends ReadOptions {
  tail: string;
  limit: string;
  content?: boolean;
}

/** One model call's captured conversation (`--content`). */
export interface CallConversation {
  call: string;
  spanId: string;
  input: ChatMessage[];
  output: ChatMessage[];
}

export interface ModelUsage {
  model: string | null;
  provider: string | null;
  calls: number;
  totalTokens: number;
  costUsd: number;
  unpricedCalls: number;
}

/** The stable --json shape of `agentloupe show`. */
export interface ShowResult {
  agent: AgentRecord;
  children: AgentRecord[];
  telemetry: { modelCalls: number; toolCalls: number; tokens: TokenTotals; costUsd: number; unpricedCalls: number; byModel: ModelUsage[] };
  tools: Pick<TelemetryEntry, 'timestamp' | 'toolName' | 'toolArgs' | 'toolApproved' | 'toolApprovalType' | 'durationMs'>[];
  log: LogTail;
  /** With --content: each model call's captured messages (GenAI conventions' shape). */
  conversation?: CallConversation[];
}

export function registerShow(program: Command): void {
  program
    .command('show')
    .description('one agent run: its record, children, telemetry summary, tool calls and the tail of its log')
    .argument('<agent-id>', 'the agent run')
    .option('--tail <n>', 'log lines to show', '20')
    .option('--limit <n>', 'at most this many children and tool calls (the latest)', '20')
    .option('--db <path>', 'database file')
    .option('--content', "each model call's captured prompt and answer, by role (recorded with AGENTLOUPE_CAPTURE_CONTENT=true)")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  agentloupe show developer-3f9a1c2e4b5d\n  agentloupe show developer-3f9a1c2e4b5d --tail 50 --json')
    .action((agentId: string, opts: ShowOptions) => {
      const tail = parseLimit(opts.tail, '--tail', { zero: 'no log lines' });
      const limit = parseLimit(opts.limit);
      const dbPath = resolveDbPath(opts.db);
      withStore(opts, (store) => {
        const agent = store.getAgent(agentId);
        const children = store.getChildren(agentId);
        const entries = store.getAgentTelemetry(agentId);
        const tokens = store.getTotalTokens(agentId);
        const models = entries.filter((e) => e.toolName === null);
        const toolEntries = entries.filter((e) => e.toolName !== null);
        const byModel = new Map<string, ModelUsage>();
        for (const e of models) {
          const key = `${e.provider ?? ''}\u0000${e.model ?? ''}`;
          const m = byModel.get(key) ?? { model: e.model, provider: e.provider, calls: 0, totalTokens: 0, costUsd: 0, unpricedCalls: 0 };
          m.calls++;
          m.totalTokens += e.totalTokens;
          m.costUsd += e.estimatedCost;
          if (e.unpriced) m.unpricedCalls++;
          byModel.set(key, m);
        }
        const result: ShowResult = {
          agent,
          children: limit === 0 ? [] : children.slice(-limit),
          telemetry: {
            modelCalls: models.length,
            toolCalls: toolEntries.length,
            tokens,
            costUsd: models.reduce((s, e) => s + e.estimatedCost, 0),
            unpricedCalls: models.filter((e) => e.unpriced).length,
            byModel: [...byModel.values()].sort((a, b) => b.costUsd - a.costUsd || b.totalTokens - a.totalTokens),
          },
          tools: (limit === 0 ? [] : toolEntries.slice(-limit)).map((e) => ({
            timestamp: e.timestamp,
            toolName: e.toolName,
            toolArgs: e.toolArgs,
            toolApproved: e.toolApproved,
            toolApprovalType: e.toolApprovalType,
            durationMs: e.durationMs,
          })),
          log: tailAgentLog(agent, dbPath, tail),
        };
        if (opts.content) {
          result.conversation = store.getCallContents(agentId).map((c) => ({ call: c.name, spanId: c.spanId, input: parseMessages(c.input) ?? [], output: parseMessages(c.output) ?? [] }));
        }
        if (opts.json) printJson(result);
        else print(renderShow(result, children.length));
      });
    });
}

export function renderShow(r: ShowResult, childCount: number): string {
  const a = r.agent;
  const out: string[] = [];
  out.push(`${f.heading(a.name !== a.agentType ? `${a.agentType} (${a.name})` : a.agentType)} ${a.id}  ${f.status(a.status)}`);
  const record: [string, string][] = [
    ['plan', a.planId ?? '-'],
    ['parent', a.parentId ?? '-'],
    ['started', f.time(a.startTime)],
    ['ended', f.time(a.endTime)],
    ['duration', f.duration(a.durationMs)],
    ['exit code', a.exitCode === null ? '-' : String(a.exitCode)],
    ['process', a.processId === null ? '-' : String(a.processId)],
  ];
  if (a.category) record.push(['category', a.category]);
  if (a.serviceName) record.push(['service', a.serviceName]);
  if (a.traceId) record.push(['trace', a.traceId]);
  if (a.errorMessage) record.push(['error', f.paint(a.errorMessage, 'red')]);
  out.push(f.pairs(record));

  const t = r.telemetry;
  out.push('', f.heading('Telemetry'));
  out.push(
    f.pairs([
      ['model calls', String(t.modelCalls)],
      ['tool calls', String(t.toolCalls)],
      ['tokens', f.tokenSummary(t.tokens)],
      ['cost', f.usd(t.costUsd, t.unpricedCalls)],
    ]),
  );
  if (t.byModel.length > 0) {
    out.push(
      f.table(
        ['model', 'provider', 'calls', 'tokens', 'cost'],
        t.byModel.map((m) => [m.model ?? '-', m.provider ?? '-', String(m.calls), f.tokens(m.totalTokens), f.usd(m.costUsd, m.unpricedCalls)]),
        { right: [2, 3, 4] },
      ),
    );
  }

  out.push('', f.heading(`Children (${childCount})`));
  if (r.children.length === 0) out.push('none');
  else
    out.push(
      f.table(
        ['id', 'type', 'status', 'started', 'duration', 'error'],
        r.children.map((c) => [c.id, c.agentType, f.status(c.status), f.time(c.startTime), f.duration(c.durationMs), c.errorMessage ?? '']),
        { right: [4], flex: 5 },
      ),
    );

  out.push('', f.heading(`Tool calls (${t.toolCalls})`));
  if (r.tools.length === 0) out.push('none');
  else
    out.push(
      f.table(
        ['time', 'tool', 'approval', 'duration', 'arguments'],
        r.tools.map((e) => [
          f.time(e.timestamp),
          e.toolName ?? '-',
          `${e.toolApproved === null ? '-' : e.toolApproved ? 'approved' : f.paint('denied', 'red')}${e.toolApprovalType ? ` (${e.toolApprovalType})` : ''}`,
          f.duration(e.durationMs),
          e.toolArgs ?? '',
        ]),
        { right: [3], flex: 4 },
      ),
    );

  out.push('', f.heading('Log'));
  if (!r.log.exists) out.push(r.log.file ? `no log file (looked for ${r.log.file})` : 'no log file recorded');
  else {
    out.push(f.paint(r.log.file ?? '', 'dim'));
    out.push(r.log.lines.length === 0 ? '(empty)' : r.log.lines.join('\n'));
  }
  if (r.conversation !== undefined) {
    out.push('', f.heading(`Content (${r.conversation.length} call${r.conversation.length === 1 ? '' : 's'})`));
    if (r.conversation.length === 0) out.push('none captured (run the agent with AGENTLOUPE_CAPTURE_CONTENT=true)');
    for (const c of r.conversation) out.push(f.paint(`${c.call}  ${c.spanId}`, 'dim'), ...conversationLines([...c.input, ...c.output]));
  }
  return out.join('\n');
}
