import type { Attributes } from '@opentelemetry/api';
import * as A from '../semconv.js';
import type { TelemetryRecord } from '../telemetry/hooks.js';

/**
 * The one place a model call's usage becomes span attributes, whether agentloupe writes the call's
 * span itself or enriches a span a provider SDK started for it. The mapping reads them back
 * (usageFromAttributes), so what a hook changed is what gets stored.
 */
export function writeUsageAttributes(r: TelemetryRecord, into: Attributes): Attributes {
  if (r.provider) into[A.GEN_AI_PROVIDER_NAME] = r.provider;
  if (r.model) into[A.GEN_AI_RESPONSE_MODEL] = r.model;
  into[A.GEN_AI_USAGE_INPUT_TOKENS] = r.inputTokens;
  into[A.GEN_AI_USAGE_OUTPUT_TOKENS] = r.outputTokens;
  into[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = r.cacheReadTokens;
  into[A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = r.cacheCreationTokens;
  into[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = r.reasoningTokens;
  // An unknown price is not a real $0: no cost attribute at all, only the unpriced flag.
  if (r.priced) into[A.AGENTLOUPE_COST_USD] = r.costUsd;
  else into[A.AGENTLOUPE_COST_UNPRICED] = true;
  if (r.partial) into[A.AGENTLOUPE_CALL_PARTIAL] = true;
  if (r.engineId) into[A.AGENTLOUPE_ENGINE_ID] = r.engineId;
  return into;
}
