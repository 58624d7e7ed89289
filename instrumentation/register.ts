/**
 * `node --import agentloupe/register app.js`: instruments the process before the app's first
 * line runs. Configuration is the environment (OTEL_*, AGENTLOUPE_*); see the README.
 * Never throws into the app: a broken setup is reported once on stderr and the app runs bare.
 */
import { warnOnce } from '../src/log.js';
import { startAutoInstrumentation } from './auto.js';

try {
  startAutoInstrumentation();
} catch (err) {
  warnOnce('register', `auto-instrumentation is off for this process: ${(err as Error).stack ?? String(err)}`);
}

export { autoInstrumentation, type AutoInstrumentation } from './auto.js';
