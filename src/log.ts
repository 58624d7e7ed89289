import { diag } from '@opentelemetry/api';

/**
 * agentloupe's own warnings. Problems inside instrumentation are never thrown into the agent;
 * they are said once per kind on stderr (silence with AGENTLOUPE_LOG=silent) and sent to the
 * OTel diag logger.
 */
const said = new Set<string>();

export function warnOnce(key: string, message: string): void {
  diag.warn(`agentloupe: ${message}`);
  if (said.has(key)) return;
  said.add(key);
  if (process.env.AGENTLOUPE_LOG === 'silent') return;
  process.stderr.write(`agentloupe: ${message}\n`);
}

export function debug(message: string): void {
  diag.debug(`agentloupe: ${message}`);
}
