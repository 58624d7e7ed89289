/**
 * Captured prompt and completion content -> messages by role. Two stored shapes are read:
 * - the GenAI semantic conventions': `gen_ai.input.messages` / `gen_ai.output.messages` as JSON
 *   arrays of `{role, parts: [{type: "text", content} | {type: "tool_call", name, arguments} |
 *   {type: "tool_call_response", response} | ...]}`, and `gen_ai.system_instructions`;
 * - the older capture: the request body's prompt fields (`{"messages": [...], "system": ...}`,
 *   Gemini `contents`, Responses `input`/`instructions`) and the response's completion fields
 *   (`choices`, Anthropic `content`, Gemini `candidates`, Responses `output`, Ollama `message`).
 * Anything else is shown as it was stored. Everything here is text: the page renders it with
 * text nodes only.
 */
import { GEN_AI_INPUT_MESSAGES, GEN_AI_OUTPUT_MESSAGES, GEN_AI_SYSTEM_INSTRUCTIONS } from '../../src/semconv.js';

export type PartKind = 'text' | 'tool_call' | 'tool_result' | 'reasoning' | 'other';

export interface Part {
  kind: PartKind;
  /** Tool name for calls and results. */
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

type Json = unknown;

function parse(value: unknown): Json {
  if (typeof value !== 'string') return value;
  const t = value.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return value;
  try {
    return JSON.parse(t) as Json;
  } catch {
    // A capped capture ends mid-JSON: show it as text.
    return value;
  }
}

function str(v: Json): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  return JSON.stringify(v, null, 2);
}

function obj(v: Json): Record<string, Json> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Json>) : undefined;
}

/** One part in any of the known content-block shapes. */
function partOf(p: Json): Part {
  if (typeof p === 'string') return { kind: 'text', text: p };
  const o = obj(p);
  if (!o) return { kind: 'other', text: str(p) };
  const type = typeof o.type === 'string' ? o.type : undefined;
  switch (type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      return { kind: 'text', text: str(o.content ?? o.text) };
    case 'reasoning':
    case 'thinking':
      return { kind: 'reasoning', text: str(o.content ?? o.thinking ?? o.text ?? o.summary) };
    case 'tool_call':
    case 'tool_use':
    case 'function_call':
      return { kind: 'tool_call', name: str(o.name), text: str(o.arguments ?? o.input) };
    case 'tool_call_response':
    case 'tool_result':
    case 'function_call_output':
      return { kind: 'tool_result', name: o.name === undefined ? undefined : str(o.name), text: str(o.response ?? o.content ?? o.output ?? o.result) };
    default:
      break;
  }
  if (typeof o.text === 'string') return { kind: 'text', text: o.text };
  const fc = obj(o.functionCall);
  if (fc) return { kind: 'tool_call', name: str(fc.name), text: str(fc.args) };
  const fr = obj(o.functionResponse);
  if (fr) return { kind: 'tool_result', name: str(fr.name), text: str(fr.response) };
  return { kind: 'other', text: str(p) };
}

function partsOf(content: Json): Part[] {
  if (content === undefined || content === null) return [];
  if (Array.isArray(content)) return content.map(partOf);
  return [partOf(content)];
}

/** A message in the conventions' shape or a provider's shape. */
function messageOf(m: Json, from: Message['from'], fallbackRole: string): Message | undefined {
  const o = obj(m);
  if (!o) return typeof m === 'string' ? { role: fallbackRole, parts: [{ kind: 'text', text: m }], from } : undefined;
  const role = typeof o.role === 'string' ? o.role : fallbackRole;
  let parts: Part[];
  if (Array.isArray(o.parts)) parts = o.parts.map(partOf);
  else parts = partsOf(o.content);
  // OpenAI chat: assistant tool calls and tool results beside the content.
  if (Array.isArray(o.tool_calls)) {
    for (const tc of o.tool_calls) {
      const f = obj(obj(tc)?.function);
      parts.push({ kind: 'tool_call', name: str(f?.name), text: str(parse(f?.arguments)) });
    }
  }
  if (role === 'tool' && parts.length > 0 && parts.every((p) => p.kind === 'text')) parts = parts.map((p) => ({ ...p, kind: 'tool_result' }));
  if (o.type === 'function_call' || o.type === 'function_call_output') parts = [partOf(o)];
  const finishReason = typeof o.finish_reason === 'string' ? o.finish_reason : undefined;
  return { role: role === 'model' ? 'assistant' : role, parts, from, ...(finishReason ? { finishReason } : {}) };
}

function fromInput(raw: Json): Message[] {
  const v = parse(raw);
  if (Array.isArray(v)) return v.map((m) => messageOf(m, 'input', 'user')).filter((m): m is Message => m !== undefined);
  const o = obj(v);
  if (!o) return v === undefined || v === '' ? [] : [{ role: 'user', parts: [{ kind: 'other', text: str(v) }], from: 'input' }];
  const out: Message[] = [];
  const system = o.system ?? o.instructions ?? o.systemInstruction;
  if (system !== undefined) {
    const sys = obj(system);
    out.push({ role: 'system', parts: sys && Array.isArray(sys.parts) ? sys.parts.map(partOf) : partsOf(system), from: 'input' });
  }
  const list = o.messages ?? o.contents ?? o.input ?? o.prompt;
  if (Array.isArray(list)) out.push(...list.map((m) => messageOf(m, 'input', 'user')).filter((m): m is Message => m !== undefined));
  else if (list !== undefined) out.push({ role: 'user', parts: partsOf(list), from: 'input' });
  return out;
}

function fromOutput(raw: Json): Message[] {
  const v = parse(raw);
  if (Array.isArray(v)) return v.map((m) => messageOf(m, 'output', 'assistant')).filter((m): m is Message => m !== undefined);
  const o = obj(v);
  if (!o) return v === undefined || v === '' ? [] : [{ role: 'assistant', parts: [{ kind: 'other', text: str(v) }], from: 'output' }];
  const out: Message[] = [];
  const push = (m: Json, finish?: Json): void => {
    const msg = messageOf(m, 'output', 'assistant');
    if (!msg) return;
    if (typeof finish === 'string') msg.finishReason = finish;
    out.push(msg);
  };
  if (Array.isArray(o.choices)) for (const c of o.choices) push(obj(c)?.message ?? obj(c)?.text, obj(c)?.finish_reason);
  else if (Array.isArray(o.candidates)) for (const c of o.candidates) push(obj(c)?.content, obj(c)?.finishReason);
  else if (Array.isArray(o.content)) out.push({ role: 'assistant', parts: o.content.map(partOf), from: 'output' });
  else if (Array.isArray(o.output)) {
    for (const item of o.output) {
      const it = obj(item);
      if (it?.type === 'message') push(it);
      else out.push({ role: 'assistant', parts: [partOf(item)], from: 'output' });
    }
  } else if (o.message !== undefined) push(o.message);
  else if (o.response !== undefined) out.push({ role: 'assistant', parts: partsOf(o.response), from: 'output' });
  else out.push({ role: 'assistant', parts: [{ kind: 'other', text: str(v) }], from: 'output' });
  return out;
}

/** The conversation a model-call span captured, or [] when content capture was off. */
export function conversationOf(attributes: Record<string, unknown>): Message[] {
  const out: Message[] = [];
  const system = attributes[GEN_AI_SYSTEM_INSTRUCTIONS];
  if (system !== undefined) {
    const v = parse(system);
    out.push({ role: 'system', parts: Array.isArray(v) ? v.map(partOf) : partsOf(v), from: 'input' });
  }
  if (attributes[GEN_AI_INPUT_MESSAGES] !== undefined) out.push(...fromInput(attributes[GEN_AI_INPUT_MESSAGES]));
  if (attributes[GEN_AI_OUTPUT_MESSAGES] !== undefined) out.push(...fromOutput(attributes[GEN_AI_OUTPUT_MESSAGES]));
  return out;
}
