/**
 * Every span, event and metric attribute name agentrace reads or writes. Nothing else in the
 * code base spells one: import from here.
 *
 * `gen_ai.*` names follow the OpenTelemetry GenAI semantic conventions (development status,
 * open-telemetry/semantic-conventions-genai). What the conventions do not define lives under
 * the project prefix `agentrace.*`.
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
export const GEN_AI_TOKEN_TYPE = 'gen_ai.token.type';
export const ERROR_TYPE = 'error.type';

/** Values of `gen_ai.operation.name` agentrace produces or recognises. */
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

// --- Resource / general ----------------------------------------------------------------------
export const SERVICE_NAME = 'service.name';
export const PROCESS_PID = 'process.pid';
export const EXCEPTION_EVENT = 'exception';

// --- agentrace project attributes ------------------------------------------------------------
export const AGENTRACE_AGENT_TYPE = 'agentrace.agent.type';
export const AGENTRACE_AGENT_CATEGORY = 'agentrace.agent.category';
export const AGENTRACE_PLAN_ID = 'agentrace.plan.id';
export const AGENTRACE_PARENT_AGENT_ID = 'agentrace.agent.parent_id';
export const AGENTRACE_EXIT_CODE = 'agentrace.agent.exit_code';
export const AGENTRACE_LOG_FILE = 'agentrace.agent.log_file';
export const AGENTRACE_AGENT_STATUS = 'agentrace.agent.status';
export const AGENTRACE_ERROR_MESSAGE = 'agentrace.agent.error_message';
/** On model and tool spans: the agent run they belong to (saves a lookup in the mapping). */
export const AGENTRACE_OWNER_AGENT_ID = 'agentrace.owner.agent_id';
export const AGENTRACE_COST_USD = 'agentrace.cost.usd';
export const AGENTRACE_COST_UNPRICED = 'agentrace.cost.unpriced';
export const AGENTRACE_ENGINE_ID = 'agentrace.engine.id';
export const AGENTRACE_TOOL_APPROVED = 'agentrace.tool.approved';
export const AGENTRACE_TOOL_APPROVAL_TYPE = 'agentrace.tool.approval_type';
export const AGENTRACE_CALL_PARTIAL = 'agentrace.call.partial';

/** Name of the span event that records an agent status change. */
export const STATUS_EVENT = 'agentrace.agent.status_change';

// --- Metric attribute and instrument names (see src/metrics) ---------------------------------
export const METRIC_ATTR_AGENT_NAME = GEN_AI_AGENT_NAME;
export const METRIC_ATTR_STATUS = 'agentrace.status';
export const METRIC_ATTR_TOKEN_KIND = 'agentrace.token.kind';
export const METRIC_ATTR_APPROVAL = 'agentrace.tool.approval';
