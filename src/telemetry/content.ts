/**
 * Captured prompts and answers in the OpenTelemetry GenAI semantic conventions' message shape
 * (`gen_ai.input.messages` / `gen_ai.output.messages`): a list of `{ role, parts, finish_reason? }`
 * where a part is `{ type: 'text', content }`, `{ type: 'tool_call', id, name, arguments }` or
 * `{ type: 'tool_call_response', id, response }`. Read from any provider's request or response
 * body (OpenAI Chat and Responses, Anthropic, Gemini, Ollama). Pure: no I/O.
 */

export type MessagePart =
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id?: string; name: string; arguments?: unknown }
  | { type: 'tool_call_response'; id?: string; response: unknown }
  | { type: string; [key: string]: unknown };

export interface ChatMessage {
  /** system, user, assistant or tool. */
  role: string;
  parts: MessagePart[];
  /** Output messages only: stop, length, content_filter, tool_call, error. */
  finish_reason?: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function parseArguments(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

function role(r: unknown): string {
  const s = str(r) ?? 'user';
  if (s === 'developer') return 'system';
  if (s === 'model') return 'assistant';
  if (s === 'function') return 'tool';
  return s;
}

const FINISH: Record<string, string> = {
  stop: 'stop',
  end_turn: 'stop',
  stop_sequence: 'stop',
  STOP: 'stop',
  completed: 'stop',
  length: 'length',
  max_tokens: 'length',
  MAX_TOKENS: 'length',
  incomplete: 'length',
  content_filter: 'content_filter',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  tool_calls: 'tool_call',
  function_call: 'tool_call',
  tool_use: 'tool_call',
};

function finish(reason: unknown): string | undefined {
  const s = str(reason);
  return s === undefined ? undefined : (FINISH[s] ?? s.toLowerCase());
}

/** Parts of one provider content value: a string, or a list of typed blocks (any provider's). */
function partsOf(content: unknown): MessagePart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', content }];
  if (!Array.isArray(content)) return isObject(content) ? partsOf([content]) : [];
  const parts: MessagePart[] = [];
  for (const block of content) {
    if (typeof block === 'string') {
      parts.push({ type: 'text', content: block });
      continue;
    }
    if (!isObject(block)) continue;
    const type = str(block['type']);
    const text = str(block['text']);
    if (text !== undefined && (type === undefined || type === 'text' || type === 'input_text' || type === 'output_text')) {
      parts.push({ type: 'text', content: text });
    } else if (type === 'tool_use') {
      parts.push({ type: 'tool_call', id: str(block['id']), name: str(block['name']) ?? 'unknown', arguments: block['input'] });
    } else if (type === 'tool_result') {
      parts.push({ type: 'tool_call_response', id: str(block['tool_use_id']), response: responseOf(block['content']) });
    } else if (type === 'function_call') {
      parts.push({ type: 'tool_call', id: str(block['call_id']) ?? str(block['id']), name: str(block['name']) ?? 'unknown', arguments: parseArguments(block['arguments']) });
    } else if (type === 'function_call_output') {
      parts.push({ type: 'tool_call_response', id: str(block['call_id']), response: block['output'] });
    } else if (isObject(block['functionCall'])) {
      const call = block['functionCall'];
      parts.push({ type: 'tool_call', id: str(call['id']), name: str(call['name']) ?? 'unknown', arguments: call['args'] });
    } else if (isObject(block['functionResponse'])) {
      const r = block['functionResponse'];
      parts.push({ type: 'tool_call_response', id: str(r['id']), response: r['response'] });
    } else if (type === 'thinking' || type === 'reasoning') {
      const content = str(block['thinking']) ?? str(block['text']);
      if (content !== undefined) parts.push({ type: 'reasoning', content });
    } else if (type !== undefined) {
      // Images, files, audio: named, not copied (they can be megabytes).
      parts.push({ type });
    }
  }
  return parts;
}

/** A tool result's content as plain text when it is only text blocks, else as given. */
function responseOf(content: unknown): unknown {
  const parts = partsOf(content);
  if (parts.length > 0 && parts.every((p) => p.type === 'text')) return parts.map((p) => (p as { content: string }).content).join('');
  return content;
}

/** An OpenAI-style chat message (OpenAI, Ollama, OpenAI-compatible servers). */
function chatMessage(m: Json): ChatMessage {
  const r = role(m['role']);
  const parts = r === 'tool' ? [] : partsOf(m['content']);
  if (r === 'tool') parts.push({ type: 'tool_call_response', id: str(m['tool_call_id']), response: responseOf(m['content']) });
  const calls = m['tool_calls'];
  if (Array.isArray(calls)) {
    for (const c of calls) {
      if (!isObject(c)) continue;
      const fn = isObject(c['function']) ? c['function'] : c;
      parts.push({ type: 'tool_call', id: str(c['id']), name: str(fn['name']) ?? 'unknown', arguments: parseArguments(fn['arguments']) });
    }
  }
  return { role: r, parts };
}

/** The prompt of a model-call request body, as input messages (undefined when it has none). */
export function inputMessages(body: Json): ChatMessage[] | undefined {
  const out: ChatMessage[] = [];
  const system = body['system'] ?? body['instructions'];
  if (system !== undefined) out.push({ role: 'system', parts: partsOf(system) });
  const instruction = body['systemInstruction'] ?? body['system_instruction'];
  if (isObject(instruction)) out.push({ role: 'system', parts: partsOf(instruction['parts']) });
  else if (typeof instruction === 'string') out.push({ role: 'system', parts: partsOf(instruction) });

  const messages = body['messages'];
  if (Array.isArray(messages)) {
    for (const m of messages) if (isObject(m)) out.push(chatMessage(m));
  }
  const contents = body['contents'];
  if (Array.isArray(contents)) {
    for (const c of contents) {
      if (isObject(c)) out.push({ role: role(c['role']), parts: partsOf(c['parts']) });
      else if (typeof c === 'string') out.push({ role: 'user', parts: partsOf(c) });
    }
  } else if (typeof contents === 'string') {
    out.push({ role: 'user', parts: partsOf(contents) });
  }
  const input = body['input'];
  if (typeof input === 'string') out.push({ role: 'user', parts: partsOf(input) });
  else if (Array.isArray(input)) {
    // Responses API items, or embeddings' list of strings.
    let pending: ChatMessage | undefined;
    for (const item of input) {
      if (isObject(item) && item['role'] !== undefined) {
        pending = undefined;
        out.push({ role: role(item['role']), parts: partsOf(item['content']) });
      } else {
        const parts = partsOf([item]);
        if (parts.length === 0) continue;
        const r = parts[0]!.type === 'tool_call' ? 'assistant' : parts[0]!.type === 'tool_call_response' ? 'tool' : 'user';
        if (pending === undefined || pending.role !== r) {
          pending = { role: r, parts: [] };
          out.push(pending);
        }
        pending.parts.push(...parts);
      }
    }
  }
  const prompt = body['prompt'];
  if (typeof prompt === 'string') out.push({ role: 'user', parts: partsOf(prompt) });
  else if (Array.isArray(prompt)) out.push({ role: 'user', parts: partsOf(prompt.filter((p) => typeof p === 'string')) });
  return out.length > 0 ? out : undefined;
}

/** The answer of a non-streamed model-call response body, as output messages. */
export function outputMessages(body: Json): ChatMessage[] | undefined {
  const out: ChatMessage[] = [];
  const choices = body['choices'];
  if (Array.isArray(choices)) {
    for (const c of choices) {
      if (!isObject(c)) continue;
      const message = isObject(c['message']) ? chatMessage(c['message']) : { role: 'assistant', parts: partsOf(c['text']) };
      const reason = finish(c['finish_reason']);
      out.push(reason !== undefined ? { ...message, finish_reason: reason } : message);
    }
  }
  const candidates = body['candidates'];
  if (Array.isArray(candidates)) {
    for (const c of candidates) {
      if (!isObject(c)) continue;
      const content = isObject(c['content']) ? c['content'] : {};
      const reason = finish(c['finishReason']);
      out.push({ role: 'assistant', parts: partsOf(content['parts']), ...(reason !== undefined ? { finish_reason: reason } : {}) });
    }
  }
  // Anthropic messages: { role, content: blocks, stop_reason }.
  if (body['type'] === 'message' && Array.isArray(body['content'])) {
    const reason = finish(body['stop_reason']);
    out.push({ role: role(body['role'] ?? 'assistant'), parts: partsOf(body['content']), ...(reason !== undefined ? { finish_reason: reason } : {}) });
  }
  // OpenAI Responses: output items (messages, function calls, reasoning).
  const output = body['output'];
  if (Array.isArray(output)) {
    const parts: MessagePart[] = [];
    for (const item of output) {
      if (!isObject(item)) continue;
      if (item['type'] === 'message') parts.push(...partsOf(item['content']));
      else if (item['type'] === 'reasoning') continue;
      else parts.push(...partsOf([item]));
    }
    const reason = parts.some((p) => p.type === 'tool_call') ? 'tool_call' : finish(body['status']);
    out.push({ role: 'assistant', parts, ...(reason !== undefined ? { finish_reason: reason } : {}) });
  }
  // Ollama: chat's message, generate's response.
  if (isObject(body['message']) && out.length === 0) {
    const reason = finish(body['done_reason']);
    out.push({ ...chatMessage(body['message']), ...(reason !== undefined ? { finish_reason: reason } : {}) });
  } else if (typeof body['response'] === 'string') {
    const reason = finish(body['done_reason']);
    out.push({ role: 'assistant', parts: partsOf(body['response']), ...(reason !== undefined ? { finish_reason: reason } : {}) });
  }
  return out.length > 0 ? out : undefined;
}

/**
 * The messages as the attribute's JSON text, at most about `maxBytes` UTF-8 bytes: long strings
 * are cut (marked with …) so that the text stays valid JSON that readers can parse.
 */
export function messagesJson(messages: ChatMessage[], maxBytes: number): string {
  let text = JSON.stringify(messages);
  let cap = maxBytes;
  while (Buffer.byteLength(text, 'utf8') > maxBytes && cap > 8) {
    cap = Math.floor(cap / 2);
    text = JSON.stringify(messages, (_key, value: unknown) => (typeof value === 'string' && value.length > cap ? `${value.slice(0, cap)}…` : value));
  }
  return text;
}

/** Messages read back from a stored attribute: this shape, or undefined for anything else. */
export function parseMessages(text: unknown): ChatMessage[] | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (!Array.isArray(value)) return undefined;
    return value.filter((m): m is ChatMessage => isObject(m) && typeof m['role'] === 'string' && Array.isArray(m['parts']));
  } catch {
    return undefined;
  }
}

function short(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  return text.length > 2000 ? `${text.slice(0, 1999)}…` : text;
}

/** A conversation as text lines, one per part, each led by its role (for `agentloupe show --content`). */
export function conversationLines(messages: ChatMessage[]): string[] {
  const lines: string[] = [];
  for (const m of messages) {
    for (const p of m.parts) {
      const part = p as Record<string, unknown>;
      if (p.type === 'text') lines.push(`${m.role}: ${short(part['content'])}`);
      else if (p.type === 'reasoning') lines.push(`${m.role} (reasoning): ${short(part['content'])}`);
      else if (p.type === 'tool_call') lines.push(`${m.role} calls ${String(part['name'])}${part['id'] ? ` [${String(part['id'])}]` : ''}: ${short(part['arguments'] ?? {})}`);
      else if (p.type === 'tool_call_response') lines.push(`${m.role}${part['id'] ? ` [${String(part['id'])}]` : ''}: ${short(part['response'])}`);
      else lines.push(`${m.role}: (${p.type})`);
    }
    if (m.parts.length === 0) lines.push(`${m.role}: (empty)`);
    if (m.finish_reason) lines.push(`  finish: ${m.finish_reason}`);
  }
  return lines;
}
