/**
 * Captured prompt and completion content -> messages by role, for display. Two stored shapes:
 * - the GenAI semantic conventions' (`gen_ai.input.messages` / `gen_ai.output.messages`: JSON
 *   arrays of `{role, parts, finish_reason?}`, and `gen_ai.system_instructions`), as written now;
 * - the older capture: the request body's prompt fields (`{"messages": [...], "system": ...}`)
 *   and the response's completion fields (`choices`, `content`, `candidates`, `output`, ...), read
 *   into the conventions' shape by the same code that captures (src/telemetry/content.ts).
 * Anything else is shown as stored. Everything here is text: the page renders it as text nodes.
 */
import { GEN_AI_INPUT_MESSAGES, GEN_AI_OUTPUT_MESSAGES, GEN_AI_SYSTEM_INSTRUCTIONS } from '../../src/semconv.js';
import { inputMessages, outputMessages, type ChatMessage, type MessagePart } from '../../src/telemetry/content.js';

export type PartKind = 'text' | 'tool_call' | 'tool_result' | 'reasoning' | 'other';

export interface Part {
  kind: PartKind;
  /** Tool name for calls. */
  name?: string;
  text: string;
}

export interface Message {
  role: string;
  parts: Part[];
  /** Where it came from: the request (input) or the response (output). */
  from: 'input' | 'output';
  finishReason?: string;
}

function parse(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    // A capture cut mid-JSON (older files): shown as text.
    return value;
  }
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  return JSON.stringify(v, null, 2);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function partOf(p: MessagePart): Part {
  const o = p as Record<string, unknown>;
  switch (p.type) {
    case 'text':
      return { kind: 'text', text: text(o.content) };
    case 'reasoning':
      return { kind: 'reasoning', text: text(o.content) };
    case 'tool_call':
      return { kind: 'tool_call', name: text(o.name), text: text(o.arguments ?? {}) };
    case 'tool_call_response':
      return { kind: 'tool_result', text: text(o.response) };
    default:
      return { kind: 'other', text: `(${p.type}${o.content !== undefined ? `: ${text(o.content)}` : ''})` };
  }
}

function isConventional(v: unknown): v is ChatMessage[] {
  return Array.isArray(v) && v.every((m) => isObject(m) && typeof m.role === 'string' && Array.isArray(m.parts));
}

function toMessages(list: ChatMessage[], from: Message['from']): Message[] {
  return list.map((m) => ({ role: m.role, parts: m.parts.map(partOf), from, ...(m.finish_reason ? { finishReason: m.finish_reason } : {}) }));
}

function raw(v: unknown, role: string, from: Message['from']): Message[] {
  return [{ role, parts: [{ kind: 'other', text: text(v) }], from }];
}

function read(value: unknown, from: Message['from']): Message[] {
  const v = parse(value);
  if (v === undefined || v === '') return [];
  if (isConventional(v)) return toMessages(v, from);
  if (isObject(v)) {
    // The older capture kept only the completion fields: an Anthropic answer lost its `type`.
    const body = from === 'output' && Array.isArray(v.content) && v.type === undefined ? { ...v, type: 'message' } : v;
    const list = from === 'input' ? inputMessages(body) : outputMessages(body);
    if (list) return toMessages(list, from);
  }
  return raw(v, from === 'input' ? 'user' : 'assistant', from);
}

/** The conversation a model-call span captured, or [] when content capture was off. */
export function conversationOf(attributes: Record<string, unknown>): Message[] {
  const out: Message[] = [];
  const system = parse(attributes[GEN_AI_SYSTEM_INSTRUCTIONS]);
  if (Array.isArray(system)) out.push({ role: 'system', parts: (system as MessagePart[]).map(partOf), from: 'input' });
  else if (system !== undefined) out.push(...raw(system, 'system', 'input'));
  out.push(...read(attributes[GEN_AI_INPUT_MESSAGES], 'input'));
  out.push(...read(attributes[GEN_AI_OUTPUT_MESSAGES], 'output'));
  return out;
}
