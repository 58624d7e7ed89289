import { diag } from '@opentelemetry/api';

/**
 * agentrace's own warnings. Problems inside instrumentation are never thrown into the agent;
 * they are said once per kind on stderr (silence with AGENTRACE_LOG=silent) and sent to the
 * OTel diag logger.
 */
const said = new Set<string>();

export function warnOnce(key: string, message: string): void {
  diag.warn(`agentrace: ${message}`);
  if (said.has(key)) return;
  said.add(key);
  if (process.env.AGENTRACE_LOG === 'silent') return;
  process.stderr.write(`agentrace: ${message}\n`);
}

export function debug(message: string): void {
  diag.debug(`agentrace: ${message}`);
}
