/**
 * Every span, event and metric attribute name agentloupe reads or writes. Nothing else in the
 * code base spells one: import from here.
 *
 * `gen_ai.*` names follow the OpenTelemetry GenAI semantic conventions (development status,
 * open-telemetry/semantic-conventions-genai). What the conventions do not define lives under
 * the project prefix `agentloupe.*`.
 */

// --- GenAI semantic conventions (current names) ---------------------------------------------
export const GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
export const GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
export const GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
export const GEN_AI_REQUEST_STREAM = 'gen_ai.request.stream';
export const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = 'gen_ai.response.time_to_first_chunk';
export const GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
export const GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = 'gen_ai.usage.cache_creation.input_tokens';
export const GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = 'gen_ai.usage.reasoning.output_tokens';
export const GEN_AI_AGENT_ID = 'gen_ai.agent.id';
export const GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
export const GEN_AI_AGENT_DESCRIPTION = 'gen_ai.agent.description';
export const GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id';
export const GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id';
export const GEN_AI_TOOL_TYPE = 'gen_ai.tool.type';
export const GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
/** Prompt and completion content: only with AGENTLOUPE_CAPTURE_CONTENT=true, capped. */
export const GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages';
export const GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages';
export const GEN_AI_SYSTEM_INSTRUCTIONS = 'gen_ai.system_instructions';
/** Cache writes as @anthropic-ai/sdk 1.x names them on its own call spans (read, never written). */
export const GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS_ANTHROPIC_SDK = 'gen_ai.usage.cache_write.input_tokens';
export const GEN_AI_TOKEN_TYPE = 'gen_ai.token.type';
export const ERROR_TYPE = 'error.type';

/** Values of `gen_ai.operation.name` agentloupe produces or recognises. */
export const OP_INVOKE_AGENT = 'invoke_agent';
export const OP_CREATE_AGENT = 'create_agent';
export const OP_CHAT = 'chat';
export const OP_TEXT_COMPLETION = 'text_completion';
export const OP_GENERATE_CONTENT = 'generate_content';
export const OP_EMBEDDINGS = 'embeddings';
export const OP_EXECUTE_TOOL = 'execute_tool';

/** Operations whose spans are model calls (one telemetry row each). */
export const MODEL_CALL_OPERATIONS: ReadonlySet<string> = new Set([
  OP_CHAT,
  OP_TEXT_COMPLETION,
  OP_GENERATE_CONTENT,
  OP_EMBEDDINGS,
]);

// --- Deprecated or foreign GenAI names, read by the span mapping (never written) -------------
export const GEN_AI_SYSTEM = 'gen_ai.system';
export const GEN_AI_USAGE_PROMPT_TOKENS = 'gen_ai.usage.prompt_tokens';
export const GEN_AI_USAGE_COMPLETION_TOKENS = 'gen_ai.usage.completion_tokens';
export const GEN_AI_USAGE_CACHE_READ_TOKENS_ALT = 'gen_ai.usage.cache_read_input_tokens';
export const GEN_AI_USAGE_CACHE_CREATION_TOKENS_ALT = 'gen_ai.usage.cache_creation_input_tokens';
export const GEN_AI_USAGE_REASONING_TOKENS_ALT = 'gen_ai.usage.reasoning_tokens';

// --- OpenInference (Arize) span attributes, read by the span mapping (never written) ----------
export const OPENINFERENCE_SPAN_KIND = 'openinference.span.kind';
export const OI_KIND_AGENT = 'AGENT';
export const OI_KIND_TOOL = 'TOOL';
export const OI_KIND_LLM = 'LLM';
export const OI_KIND_EMBEDDING = 'EMBEDDING';
export const OI_LLM_MODEL_NAME = 'llm.model_name';
export const OI_LLM_RESPONSE_MODEL_NAME = 'llm.response.model_name';
export const OI_LLM_REQUEST_MODEL_NAME = 'llm.request.model_name';
export const OI_LLM_PROVIDER = 'llm.provider';
export const OI_LLM_SYSTEM = 'llm.system';
export const OI_TOKEN_COUNT_PROMPT = 'llm.token_count.prompt';
export const OI_TOKEN_COUNT_COMPLETION = 'llm.token_count.completion';
export const OI_TOKEN_COUNT_CACHE_READ = 'llm.token_count.prompt_details.cache_read';
export const OI_TOKEN_COUNT_CACHE_WRITE = 'llm.token_count.prompt_details.cache_write';
export const OI_TOKEN_COUNT_REASONING = 'llm.token_count.completion_details.reasoning';
export const OI_TOOL_NAME = 'tool.name';
export const OI_AGENT_NAME = 'agent.name';

// --- OpenLLMetry (Traceloop) span attributes, read by the span mapping (never written) --------
export const TRACELOOP_SPAN_KIND = 'traceloop.span.kind';
export const TRACELOOP_ENTITY_NAME = 'traceloop.entity.name';
export const TRACELOOP_KIND_AGENT = 'agent';
export const TRACELOOP_KIND_TOOL = 'tool';
export const LLM_REQUEST_TYPE = 'llm.request.type';
export const LLM_USAGE_PROMPT_TOKENS = 'llm.usage.prompt_tokens';
export const LLM_USAGE_COMPLETION_TOKENS = 'llm.usage.completion_tokens';

// --- Coding-agent telemetry (OTLP log events and metrics), read by the collector -------------
/** Log-record attribute that names the event (Claude Code, Gemini CLI, Codex CLI all set it). */
export const EVENT_NAME = 'event.name';
export const EVENT_KIND = 'event.kind';
export const SESSION_ID = 'session.id';
export const CONVERSATION_ID = 'conversation.id';
export const CC_EVENT_API_REQUEST = 'claude_code.api_request';
export const CC_MODEL = 'model';
export const CC_INPUT_TOKENS = 'input_tokens';
export const CC_OUTPUT_TOKENS = 'output_tokens';
export const CC_CACHE_READ_TOKENS = 'cache_read_tokens';
export const CC_CACHE_CREATION_TOKENS = 'cache_creation_tokens';
export const CC_COST_USD = 'cost_usd';
export const CC_DURATION_MS = 'duration_ms';
export const CC_METRIC_TOKEN_USAGE = 'claude_code.token.usage';
export const CC_METRIC_COST_USAGE = 'claude_code.cost.usage';
export const GEMINI_EVENT_API_RESPONSE = 'gemini_cli.api_response';
export const GEMINI_INPUT_TOKEN_COUNT = 'input_token_count';
export const GEMINI_OUTPUT_TOKEN_COUNT = 'output_token_count';
export const GEMINI_CACHED_TOKEN_COUNT = 'cached_content_token_count';
export const GEMINI_THOUGHTS_TOKEN_COUNT = 'thoughts_token_count';
export const GEMINI_METRIC_TOKEN_USAGE = 'gemini_cli.token.usage';
export const CODEX_EVENT_SSE = 'codex.sse_event';
export const CODEX_KIND_COMPLETED = 'response.completed';
export const CODEX_INPUT_TOKEN_COUNT = 'input_token_count';
export const CODEX_OUTPUT_TOKEN_COUNT = 'output_token_count';
export const CODEX_CACHED_TOKEN_COUNT = 'cached_token_count';
export const CODEX_REASONING_TOKEN_COUNT = 'reasoning_token_count';
// The other events of a session, stored per turn (src/collector/coding-agent-turns.ts has the sources).
export const CC_EVENT_USER_PROMPT = 'claude_code.user_prompt';
export const CC_EVENT_TOOL_RESULT = 'claude_code.tool_result';
export const CC_EVENT_API_ERROR = 'claude_code.api_error';
/** Claude Code: one id shared by every event of one user prompt. */
export const CC_PROMPT_ID = 'prompt.id';
export const CC_TOOL_NAME = 'tool_name';
/** The tool's name in Claude Code's earlier documentation of tool_result. */
export const CC_TOOL_NAME_OLD = 'name';
export const CC_SUCCESS = 'success';
export const GEMINI_EVENT_USER_PROMPT = 'gemini_cli.user_prompt';
export const GEMINI_EVENT_TOOL_CALL = 'gemini_cli.tool_call';
export const GEMINI_EVENT_API_ERROR = 'gemini_cli.api_error';
/** Gemini CLI: the id of the user prompt an event belongs to. */
export const GEMINI_PROMPT_ID = 'prompt_id';
export const GEMINI_FUNCTION_NAME = 'function_name';
export const CODEX_EVENT_USER_PROMPT = 'codex.user_prompt';
export const CODEX_EVENT_TOOL_RESULT = 'codex.tool_result';
/** Codex's request event; a failed request carries `error.message`. */
export const CODEX_EVENT_API_REQUEST = 'codex.api_request';
export const ERROR_MESSAGE = 'error.message';
export const PROMPT_LENGTH = 'prompt_length';
export const STATUS_CODE = 'status_code';
// Their spans (traces on): the service names they report, and the span that carries a model call.
export const CC_SERVICE_NAME = 'claude-code';
export const CC_SPAN_LLM_REQUEST = 'claude_code.llm_request';
export const GEMINI_SERVICE_NAME = 'gemini-cli';
/** codex_exec, codex_cli_rs, codex-tui, ...: every Codex front end's service name starts so. */
export const CODEX_SERVICE_PREFIX = 'codex';

// --- Resource / general ----------------------------------------------------------------------
export const SERVICE_NAME = 'service.name';
export const PROCESS_PID = 'process.pid';
export const SERVER_ADDRESS = 'server.address';
export const SERVER_PORT = 'server.port';
export const EXCEPTION_EVENT = 'exception';
export const EXCEPTION_TYPE = 'exception.type';
export const EXCEPTION_MESSAGE = 'exception.message';
export const EXCEPTION_STACKTRACE = 'exception.stacktrace';

// --- agentloupe project attributes ------------------------------------------------------------
export const AGENTLOUPE_AGENT_TYPE = 'agentloupe.agent.type';
export const AGENTLOUPE_AGENT_CATEGORY = 'agentloupe.agent.category';
export const AGENTLOUPE_PLAN_ID = 'agentloupe.plan.id';
export const AGENTLOUPE_PARENT_AGENT_ID = 'agentloupe.agent.parent_id';
export const AGENTLOUPE_EXIT_CODE = 'agentloupe.agent.exit_code';
export const AGENTLOUPE_LOG_FILE = 'agentloupe.agent.log_file';
export const AGENTLOUPE_AGENT_STATUS = 'agentloupe.agent.status';
export const AGENTLOUPE_ERROR_MESSAGE = 'agentloupe.agent.error_message';
/** On model and tool spans: the agent run they belong to (saves a lookup in the mapping). */
export const AGENTLOUPE_OWNER_AGENT_ID = 'agentloupe.owner.agent_id';
export const AGENTLOUPE_COST_USD = 'agentloupe.cost.usd';
export const AGENTLOUPE_COST_UNPRICED = 'agentloupe.cost.unpriced';
export const AGENTLOUPE_ENGINE_ID = 'agentloupe.engine.id';
export const AGENTLOUPE_TOOL_APPROVED = 'agentloupe.tool.approved';
export const AGENTLOUPE_TOOL_APPROVAL_TYPE = 'agentloupe.tool.approval_type';
export const AGENTLOUPE_CALL_PARTIAL = 'agentloupe.call.partial';
/**
 * On a model or tool span whose caller-given duration would have started it before its agent
 * run: the span is clamped to start with the run, and the caller's figure (ms) is kept here.
 */
export const AGENTLOUPE_REPORTED_DURATION_MS = 'agentloupe.call.reported_duration_ms';

/** Name of the span event that records an agent status change. */
export const STATUS_EVENT = 'agentloupe.agent.status_change';

// --- Metric attribute and instrument names (see src/metrics) ---------------------------------
/** The GenAI semantic conventions' client metrics. */
export const METRIC_GEN_AI_CLIENT_TOKEN_USAGE = 'gen_ai.client.token.usage';
export const METRIC_GEN_AI_CLIENT_OPERATION_DURATION = 'gen_ai.client.operation.duration';
export const METRIC_ATTR_AGENT_NAME = GEN_AI_AGENT_NAME;
export const METRIC_ATTR_STATUS = 'agentloupe.status';
export const METRIC_ATTR_TOKEN_KIND = 'agentloupe.token.kind';
export const METRIC_ATTR_APPROVAL = 'agentloupe.tool.approval';

// --- Health (see src/health) -----------------------------------------------------------------
/** Health metric and span-event attributes: the component checked and a health state. */
export const HEALTH_ATTR_COMPONENT = 'agentloupe.health.component';
export const HEALTH_ATTR_STATE = 'agentloupe.health.state';
export const HEALTH_ATTR_PREVIOUS_STATE = 'agentloupe.health.previous_state';
export const HEALTH_ATTR_MESSAGE = 'agentloupe.health.message';
export const HEALTH_ATTR_LATENCY_MS = 'agentloupe.health.latency_ms';
/** Name of the span event that records a component's health status change. */
export const HEALTH_STATUS_EVENT = 'agentloupe.health.status_change';
/** Worker metric attributes (worker ids are not metric attributes: unbounded). */
export const WORKER_ATTR_TYPE = 'agentloupe.worker.type';
export const WORKER_ATTR_STATE = 'agentloupe.worker.state';

// --- Collector (see src/collector) -----------------------------------------------------------
/** Ingest metric attributes: the OTLP signal (traces, metrics, logs) and why items were dropped. */
export const COLLECTOR_ATTR_SIGNAL = 'agentloupe.collector.signal';
export const COLLECTOR_ATTR_REASON = 'agentloupe.collector.reason';
export const HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
/** The numeric gRPC status of an OTLP/gRPC export (semconv rpc.grpc.status_code). */
export const RPC_GRPC_STATUS_CODE = 'rpc.grpc.status_code';


// --- Jaeger query API (see src/collector/jaeger) ---------------------------------------------
/** Tags Jaeger's OTLP translator adds to every span; Grafana and the Jaeger UI read and search them. */
export const JAEGER_TAG_SPAN_KIND = 'span.kind';
export const JAEGER_TAG_ERROR = 'error';
export const JAEGER_TAG_STATUS_CODE = 'otel.status_code';
export const JAEGER_TAG_STATUS_DESCRIPTION = 'otel.status_description';
export const JAEGER_TAG_SCOPE_NAME = 'otel.scope.name';
/** The field of a Jaeger log that carries the span event's name. */
export const JAEGER_LOG_EVENT = 'event';
