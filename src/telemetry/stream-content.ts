/**
 * The answer of a streamed model call, rebuilt from its events into the body the same call
 * would have returned unstreamed, so that one reader (`outputMessages`) gives both the same
 * `gen_ai.output.messages`. Only used when content capture is on: every delta is then read.
 *
 * Per format: OpenAI chat chunks (content, tool calls by index, finish reason per choice) and
 * Responses events (the final response carries the whole output); Anthropic message events
 * (content blocks by index: text, thinking, tool input JSON); Gemini chunks (parts, text runs
 * joined); Ollama NDJSON (chat message or generate response). Text kept per stream is bounded.
 */
import { outputMessages, type ChatMessage } from './content.js';
import type { JsonRecord, WireFormat } from './parsers/common.js';
import { isRecord } from './parsers/common.js';

interface ChatChoice {
  role: string;
  content: string;
  text: string;
  toolCalls: { id?: string; name: string; arguments: string }[];
  finishReason?: unknown;
}

interface AnthropicBlock extends JsonRecord {
  type: string;
  json?: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export class StreamContentAccumulator {
  private readonly choices: ChatChoice[] = [];
  private response: JsonRecord | undefined;
  private anthropic: { role: string; blocks: AnthropicBlock[]; stopReason?: unknown } | undefined;
  private gemini: { parts: JsonRecord[]; finishReason?: unknown } | undefined;
  private ollama: { role: string; content: string; toolCalls: unknown[]; response: string; generate: boolean; doneReason?: unknown } | undefined;
  private chars = 0;

  /** `maxChars`: text kept per stream; what comes after it is dropped (the attribute is capped anyway). */
  constructor(private readonly maxChars = 1024 * 1024) {}

  /** Appends streamed text to `to`, within the stream's budget. */
  private grow(to: string, more: unknown): string {
    const piece = str(more);
    if (piece === '' || this.chars >= this.maxChars) return to;
    const kept = piece.length <= this.maxChars - this.chars ? piece : piece.slice(0, this.maxChars - this.chars);
    this.chars += kept.length;
    return to + kept;
  }

  /** One decoded event of a stream in `format`. Never throws on a shape it does not know. */
  push(event: JsonRecord, format: WireFormat): void {
    switch (format) {
      case 'openai':
        this.openai(event);
        return;
      case 'anthropic':
        this.anthropicEvent(event);
        return;
      case 'gemini':
        this.geminiChunk(event);
        return;
      case 'ollama':
        this.ollamaLine(event);
        return;
    }
  }

  private openai(event: JsonRecord): void {
    const type = event['type'];
    if (typeof type === 'string' && type.startsWith('response.')) {
      // Responses API: the terminal event carries the whole response, output included.
      if (isRecord(event['response']) && Array.isArray(event['response']['output'])) this.response = event['response'];
      return;
    }
    const choices = event['choices'];
    if (!Array.isArray(choices)) return;
    for (const c of choices) {
      if (!isRecord(c)) continue;
      const index = typeof c['index'] === 'number' ? c['index'] : 0;
      if (index < 0 || index > 63) continue;
      const choice = (this.choices[index] ??= { role: 'assistant', content: '', text: '', toolCalls: [] });
      if (c['finish_reason'] !== null && c['finish_reason'] !== undefined) choice.finishReason = c['finish_reason'];
      choice.text = this.grow(choice.text, c['text']);
      const delta = c['delta'];
      if (!isRecord(delta)) continue;
      if (typeof delta['role'] === 'string') choice.role = delta['role'];
      choice.content = this.grow(choice.content, delta['content']);
      const calls = delta['tool_calls'];
      if (!Array.isArray(calls)) continue;
      for (const call of calls) {
        if (!isRecord(call)) continue;
        const at = typeof call['index'] === 'number' ? call['index'] : choice.toolCalls.length;
        if (at < 0 || at > 255) continue;
        const fn = isRecord(call['function']) ? call['function'] : {};
        const slot = (choice.toolCalls[at] ??= { name: '', arguments: '' });
        if (typeof call['id'] === 'string') slot.id = call['id'];
        if (typeof fn['name'] === 'string') slot.name += fn['name'];
        slot.arguments = this.grow(slot.arguments, fn['arguments']);
      }
    }
  }

  private anthropicEvent(event: JsonRecord): void {
    switch (event['type']) {
      case 'message_start': {
        const message = isRecord(event['message']) ? event['message'] : {};
        this.anthropic = { role: str(message['role']) || 'assistant', blocks: [] };
        return;
      }
      case 'content_block_start': {
        const index = event['index'];
        const block = event['content_block'];
        if (typeof index !== 'number' || index < 0 || index > 255 || !isRecord(block)) return;
        this.anthropic ??= { role: 'assistant', blocks: [] };
        this.anthropic.blocks[index] = { ...block, type: str(block['type']) };
        return;
      }
      case 'content_block_delta': {
        const index = event['index'];
        const delta = event['delta'];
        const block = typeof index === 'number' ? this.anthropic?.blocks[index] : undefined;
        if (block === undefined || !isRecord(delta)) return;
        if (delta['type'] === 'text_delta') block['text'] = this.grow(str(block['text']), delta['text']);
        else if (delta['type'] === 'thinking_delta') block['thinking'] = this.grow(str(block['thinking']), delta['thinking']);
        else if (delta['type'] === 'input_json_delta') block.json = this.grow(block.json ?? '', delta['partial_json']);
        return;
      }
      case 'message_delta': {
        const delta = event['delta'];
        if (this.anthropic !== undefined && isRecord(delta) && delta['stop_reason'] != null) this.anthropic.stopReason = delta['stop_reason'];
        return;
      }
      default:
        return;
    }
  }

  private geminiChunk(event: JsonRecord): void {
    const candidates = event['candidates'];
    if (!Array.isArray(candidates) || !isRecord(candidates[0])) return;
    // One candidate: a stream answers with one (candidateCount > 1 is not streamed).
    const c = candidates[0];
    this.gemini ??= { parts: [] };
    if (c['finishReason'] !== undefined) this.gemini.finishReason = c['finishReason'];
    const content = isRecord(c['content']) ? c['content'] : {};
    const parts = content['parts'];
    if (!Array.isArray(parts)) return;
    for (const p of parts) {
      if (!isRecord(p)) continue;
      const last = this.gemini.parts[this.gemini.parts.length - 1];
      if (typeof p['text'] === 'string' && last !== undefined && typeof last['text'] === 'string' && last['thought'] === p['thought']) {
        last['text'] = this.grow(last['text'], p['text']);
      } else if (typeof p['text'] === 'string') {
        this.gemini.parts.push({ ...p, text: this.grow('', p['text']) });
      } else if (this.gemini.parts.length < 256) {
        this.gemini.parts.push(p);
      }
    }
  }

  private ollamaLine(event: JsonRecord): void {
    this.ollama ??= { role: 'assistant', content: '', toolCalls: [], response: '', generate: false };
    const o = this.ollama;
    if (event['done_reason'] !== undefined) o.doneReason = event['done_reason'];
    if (typeof event['response'] === 'string') {
      o.generate = true;
      o.response = this.grow(o.response, event['response']);
    }
    const message = event['message'];
    if (!isRecord(message)) return;
    if (typeof message['role'] === 'string') o.role = message['role'];
    o.content = this.grow(o.content, message['content']);
    if (Array.isArray(message['tool_calls']) && o.toolCalls.length < 256) o.toolCalls.push(...message['tool_calls']);
  }

  /** The body the same call would have returned unstreamed, or undefined when nothing was read. */
  body(): JsonRecord | undefined {
    if (this.response !== undefined) return this.response;
    if (this.choices.length > 0) {
      return {
        choices: this.choices.flatMap((c, index) => {
          if (c === undefined) return [];
          const message: JsonRecord = { role: c.role, content: c.content };
          const calls = c.toolCalls.filter((t) => t !== undefined);
          if (calls.length > 0) {
            message['tool_calls'] = calls.map((t) => ({ ...(t.id !== undefined ? { id: t.id } : {}), type: 'function', function: { name: t.name, arguments: t.arguments } }));
          }
          // Legacy completions stream `text`, chat streams `delta`.
          const body: JsonRecord = c.text !== '' && c.content === '' ? { index, text: c.text } : { index, message };
          return [{ ...body, finish_reason: c.finishReason ?? null }];
        }),
      };
    }
    if (this.anthropic !== undefined) {
      const content = this.anthropic.blocks
        .filter((b): b is AnthropicBlock => b !== undefined)
        .map(({ json, ...block }) => {
          if (json === undefined) return block;
          try {
            return { ...block, input: JSON.parse(json) as unknown };
          } catch {
            return { ...block, input: json };
          }
        });
      return { type: 'message', role: this.anthropic.role, content, stop_reason: this.anthropic.stopReason ?? null };
    }
    if (this.gemini !== undefined) {
      return { candidates: [{ content: { role: 'model', parts: this.gemini.parts }, ...(this.gemini.finishReason !== undefined ? { finishReason: this.gemini.finishReason } : {}) }] };
    }
    if (this.ollama !== undefined) {
      const o = this.ollama;
      const reason = o.doneReason !== undefined ? { done_reason: o.doneReason } : {};
      if (o.generate) return { response: o.response, ...reason };
      return { message: { role: o.role, content: o.content, ...(o.toolCalls.length > 0 ? { tool_calls: o.toolCalls } : {}) }, ...reason };
    }
    return undefined;
  }

  /** The answer as GenAI output messages, or undefined when the stream held none. */
  messages(): ChatMessage[] | undefined {
    const body = this.body();
    return body === undefined ? undefined : outputMessages(body);
  }
}
