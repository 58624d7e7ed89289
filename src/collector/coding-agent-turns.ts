/**
 * Turns of a coding-agent session: which user prompt each event belongs to, and the session
 * events that are not model calls (user prompts, tool results, API errors).
 *
 * What identifies a turn, per tool, as each documents its telemetry:
 * - Claude Code (https://code.claude.com/docs/en/monitoring-usage, "Event correlation"): every
 *   event carries `prompt.id`, "a UUID v4 identifier linking all events produced while processing
 *   a single user prompt" — `claude_code.user_prompt` (`prompt_length`; `prompt` only with
 *   OTEL_LOG_USER_PROMPTS=1), `claude_code.api_request`, `claude_code.api_error` (`model`,
 *   `error`, `status_code`, `duration_ms`, `attempt`) and `claude_code.tool_result` (`tool_name`
 *   — `name` in earlier versions of the page —, `success` "true"/"false", `duration_ms`).
 *   Versions before `prompt.id` existed send no id.
 * - Gemini CLI (docs/cli/telemetry.md in google-gemini/gemini-cli, "Logs"): `prompt_id` on
 *   `gemini_cli.user_prompt` (`prompt_length`), `gemini_cli.api_response`,
 *   `gemini_cli.api_error` (`model`, `error`, `status_code`, `duration_ms`) and
 *   `gemini_cli.tool_call` (`function_name`, `duration_ms`, `success` boolean).
 * - Codex CLI (https://developers.openai.com/codex/config-advanced, "Events"; docs/config.md
 *   `[otel]` in openai/codex): `codex.user_prompt` (`prompt_length`), `codex.sse_event`
 *   (`response.completed` carries the counts), `codex.api_request` (failed requests carry
 *   `error.message`), `codex.tool_result` (`tool_name`, `call_id`, `duration_ms`, `success`).
 *   Events carry `conversation.id` (the session) and no per-prompt id.
 *
 * Fallback when an event has no turn id (Codex always, older Claude Code): it belongs to the
 * session's latest user prompt at or before its own time; events before the first prompt form a
 * turn of their own. The reader applies it (src/store/session-queries.ts), so events that arrive
 * out of order across export requests are still placed right. Prompt text is never stored: the
 * page shows the prompt's length.
 */
import * as A from '../semconv.js';
import type { SessionEventKind } from '../spans/rows.js';
import type { Attributes } from '../spans/span-data.js';
import type { CodingAgent } from './coding-agents.js';
import type { LogData } from './otlp/index.js';

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

function number(a: Attributes, k: string): number | null {
  const v = a[k];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** `success` as Claude Code ("true"/"false"), Gemini CLI (boolean) and Codex send it. */
function flag(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 1) return true;
  if (v === 'false' || v === 0) return false;
  return null;
}

/** The turn id an event of `tool` carries, or null (then the reader places it by time). */
export function turnIdOf(tool: CodingAgent, a: Attributes): string | null {
  if (tool === 'claude-code') return text(a[A.CC_PROMPT_ID]) ?? null;
  if (tool === 'gemini-cli') return text(a[A.GEMINI_PROMPT_ID]) ?? null;
  return null;
}

const EVENTS: ReadonlyMap<string, { tool: CodingAgent; kind: SessionEventKind }> = new Map([
  [A.CC_EVENT_USER_PROMPT, { tool: 'claude-code', kind: 'prompt' }],
  [A.CC_EVENT_TOOL_RESULT, { tool: 'claude-code', kind: 'tool' }],
  [A.CC_EVENT_API_ERROR, { tool: 'claude-code', kind: 'api_error' }],
  [A.GEMINI_EVENT_USER_PROMPT, { tool: 'gemini-cli', kind: 'prompt' }],
  [A.GEMINI_EVENT_TOOL_CALL, { tool: 'gemini-cli', kind: 'tool' }],
  [A.GEMINI_EVENT_API_ERROR, { tool: 'gemini-cli', kind: 'api_error' }],
  [A.CODEX_EVENT_USER_PROMPT, { tool: 'codex', kind: 'prompt' }],
  [A.CODEX_EVENT_TOOL_RESULT, { tool: 'codex', kind: 'tool' }],
]);

/**
 * Which session event a log record is, if any. Claude Code names its events in the body (or the
 * OTLP event name) and sets `event.name` without the prefix; the others set the full name.
 */
export function sessionEventOf(log: LogData): { tool: CodingAgent; kind: SessionEventKind } | undefined {
  const attrName = text(log.attributes[A.EVENT_NAME]);
  const body = typeof log.body === 'string' ? log.body : undefined;
  for (const name of [log.eventName, attrName, body]) {
    const hit = name !== undefined ? EVENTS.get(name) : undefined;
    if (hit) return hit;
  }
  // A failed Codex API request: codex.api_request with an error.
  if ([log.eventName, attrName, body].includes(A.CODEX_EVENT_API_REQUEST) && text(log.attributes[A.ERROR_MESSAGE]) !== undefined) {
    return { tool: 'codex', kind: 'api_error' };
  }
  return undefined;
}

/** The stored fields of a session event, beyond its session, turn, time and record id. */
export function sessionEventFields(tool: CodingAgent, kind: SessionEventKind, a: Attributes): { name: string | null; ok: boolean | null; durationMs: number | null; promptLength: number | null } {
  if (kind === 'prompt') return { name: null, ok: null, durationMs: null, promptLength: number(a, A.PROMPT_LENGTH) };
  if (kind === 'api_error') return { name: text(a[A.CC_MODEL]) ?? null, ok: false, durationMs: number(a, A.CC_DURATION_MS), promptLength: null };
  const name = tool === 'gemini-cli' ? text(a[A.GEMINI_FUNCTION_NAME]) : text(a[A.CC_TOOL_NAME]) ?? (tool === 'claude-code' ? text(a[A.CC_TOOL_NAME_OLD]) : undefined);
  return { name: name ?? null, ok: flag(a[A.CC_SUCCESS]), durationMs: number(a, A.CC_DURATION_MS), promptLength: null };
}
