import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseReport } from '../store/diagnostics.js';
import { WAL_BOUND_BYTES, WAL_LIMITS } from '../store/wal-keeper.js';
import { loadPricingFile, PRICING_ENV_VAR } from '../telemetry/pricing.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  area: 'database' | 'configuration' | 'environment';
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do, when the status is not ok. */
  fix?: string;
}

const MiB = 1024 * 1024;
/** Past the documented WAL bound, checkpoints are not keeping up (a long reader, or none ran). */
export const WAL_WARN_BYTES = WAL_BOUND_BYTES;
export const DB_WARN_BYTES = 1024 * MiB;

export function databaseChecks(r: DatabaseReport, source: string): Check[] {
  const c = (name: string, status: CheckStatus, detail: string, fix?: string): Check => ({ area: 'database', name, status, detail, ...(fix ? { fix } : {}) });
  const out: Check[] = [];
  if (!r.exists) {
    out.push(c('exists', 'fail', `no file at ${r.path} (${source})`, 'run an instrumented agent (npm run demo writes one), or point --db / AGENTLOUPE_DB at your database'));
    return out;
  }
  if (r.isDirectory) {
    out.push(c('exists', 'fail', `${r.path} is a directory, not a database file (${source})`, `give the file's path, for example --db ${r.path.replace(/\/$/, '')}/monitoring.db`));
    return out;
  }
  out.push(c('exists', 'ok', `${r.path} (${source})`));
  if (r.openError !== undefined) {
    out.push(c('opens', 'fail', r.openError, 'the file is not a readable SQLite database; restore it from a backup or point --db elsewhere'));
    return out;
  }
  if (r.tables.length === 0 && (r.schemaVersion ?? 0) === 0) {
    out.push(c('contents', 'warn', 'the file is empty: nothing has been recorded in it yet', 'run an instrumented agent (or npm run demo); writers create the schema in it'));
    return out;
  }
  if (!r.isAgentloupe) {
    out.push(c('agentloupe tables', 'fail', `no agents/telemetry/agent_usage tables (has: ${r.tables.slice(0, 6).join(', ') || 'none'})`, 'this is not an agentloupe database; point --db / AGENTLOUPE_DB at the right file'));
  }
  const v = r.schemaVersion ?? 0;
  if (v < r.expectedVersion) out.push(c('schema version', 'fail', `version ${v}, this agentloupe uses ${r.expectedVersion}`, `run \`agentloupe migrate --db ${r.path}\``));
  else if (v > r.expectedVersion) out.push(c('schema version', 'fail', `version ${v}, newer than this agentloupe (${r.expectedVersion})`, 'upgrade agentloupe: npm install agentloupe@latest'));
  else out.push(c('schema version', 'ok', `version ${v}`));
  const intact = r.integrity.length === 1 && r.integrity[0] === 'ok';
  out.push(
    intact
      ? c('integrity', 'ok', 'PRAGMA integrity_check: ok')
      : c('integrity', 'fail', `PRAGMA integrity_check: ${r.integrity.slice(0, 3).join('; ')}`, `copy what can be saved with \`sqlite3 ${r.path} .recover | sqlite3 fixed.db\`, or restore a backup`),
  );
  const fk = Object.entries(r.foreignKeyViolations);
  out.push(
    fk.length === 0
      ? c('foreign keys', 'ok', 'PRAGMA foreign_key_check: clean')
      : c(
          'foreign keys',
          'warn',
          `rows pointing at missing rows: ${fk.map(([t, n]) => `${t} ${n}`).join(', ')}`,
          'written by a tool without foreign keys; find them with `agentloupe sql "PRAGMA foreign_key_check"`',
        ),
  );
  out.push(
    r.journalMode === 'wal'
      ? c('journal mode', 'ok', 'wal')
      : c('journal mode', 'warn', `${r.journalMode ?? 'unknown'} (readers block writers)`, 'open it once with an agentloupe writer (agentloupe migrate) to switch it to WAL'),
  );
  out.push(
    r.sizes.wal > WAL_WARN_BYTES
      ? c('wal size', 'warn', `${mib(r.sizes.wal)} write-ahead log`, 'a long-running reader keeps the WAL from being checkpointed; close it, then run `agentloupe vacuum`')
      : c('wal size', 'ok', `${mib(r.sizes.wal)} (bound ${mib(WAL_BOUND_BYTES)} under load, emptied after ${WAL_LIMITS.idleTruncateMs / 1000} s idle)`),
  );
  out.push(
    r.sizes.db > DB_WARN_BYTES
      ? c('file size', 'warn', `${mib(r.sizes.db)}, ${r.agents ?? '?'} agents, ${r.telemetry ?? '?'} telemetry rows`, 'set a retention: `agentloupe prune --older-than 30d && agentloupe vacuum`')
      : c('file size', 'ok', `${mib(r.sizes.db)}, ${r.agents ?? '?'} agents, ${r.telemetry ?? '?'} telemetry rows`),
  );
  if (r.unpricedCalls !== null) {
    out.push(
      r.unpricedCalls === 0
        ? c('prices', 'ok', 'every stored model call is priced')
        : c(
            'prices',
            'warn',
            `${r.unpricedCalls} model call${r.unpricedCalls === 1 ? ' is' : 's are'} unpriced (no price was known for the model)`,
            'add the models to an AGENTLOUPE_PRICING file, then `agentloupe reprice` prices the stored calls again (`--dry-run` first shows what changes)',
          ),
    );
  }
  return out;
}

function mib(n: number): string {
  return n < MiB ? `${(n / 1024).toFixed(1)} KiB` : `${(n / MiB).toFixed(1)} MiB`;
}

const KNOWN_TRACES_EXPORTERS = ['otlp', 'console', 'none'];
const KNOWN_METRICS_EXPORTERS = ['otlp', 'prometheus', 'console', 'none'];
const KNOWN_PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'];
const KNOWN_SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];
const KNOWN_LOG_LEVELS = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'];

export function configurationChecks(env: NodeJS.ProcessEnv): Check[] {
  const out: Check[] = [];
  const c = (name: string, status: CheckStatus, detail: string, fix?: string): void => {
    out.push({ area: 'configuration', name, status, detail, ...(fix ? { fix } : {}) });
  };
  const db = env.AGENTLOUPE_DB;
  if (db !== undefined && db.trim() !== '') {
    if (existsSync(db)) c('AGENTLOUPE_DB', 'ok', db);
    else if (existsSync(dirname(db))) c('AGENTLOUPE_DB', 'warn', `${db} does not exist yet (its directory does; the first agent creates it)`);
    else c('AGENTLOUPE_DB', 'warn', `${db}: neither the file nor its directory exists`, 'check the path; writers create the directory, but a typo here hides your data');
  } else c('AGENTLOUPE_DB', 'ok', 'not set: the nearest .agentloupe/monitoring.db is used');

  const pricing = env[PRICING_ENV_VAR];
  if (pricing !== undefined && pricing.trim() !== '') {
    try {
      const o = loadPricingFile(pricing);
      c(PRICING_ENV_VAR, 'ok', `${pricing}: ${Object.keys(o.models ?? {}).length} model and ${Object.keys(o.engines ?? {}).length} engine prices`);
    } catch (err) {
      c(PRICING_ENV_VAR, 'fail', (err as Error).message, 'fix the file (see docs/configuration.md) or unset AGENTLOUPE_PRICING to use the built-in prices');
    }
  } else c(PRICING_ENV_VAR, 'ok', 'not set: built-in prices');

  const list = (name: string, known: string[]): void => {
    const v = env[name];
    if (v === undefined || v.trim() === '') return;
    const bad = v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '' && !known.includes(s));
    if (bad.length > 0) c(name, 'warn', `${v}: ${bad.join(', ')} not supported (ignored)`, `use ${known.join(', ')}`);
    else c(name, 'ok', v);
  };
  list('OTEL_TRACES_EXPORTER', KNOWN_TRACES_EXPORTERS);
  list('OTEL_METRICS_EXPORTER', KNOWN_METRICS_EXPORTERS);
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT']) {
    const v = env[name];
    if (v === undefined || v.trim() === '') continue;
    let url: URL | undefined;
    try {
      url = new URL(v);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) c(name, 'fail', `${v} is not an http(s) URL`, `set it like http://localhost:4318`);
    else c(name, 'ok', v);
  }
  const enumVar = (name: string, known: string[]): void => {
    const v = env[name];
    if (v === undefined || v.trim() === '') return;
    if (known.includes(v.trim().toLowerCase())) c(name, 'ok', v);
    else c(name, 'warn', `${v} is not a known value (ignored)`, `use one of ${known.join(', ')}`);
  };
  enumVar('OTEL_EXPORTER_OTLP_PROTOCOL', KNOWN_PROTOCOLS);
  enumVar('OTEL_TRACES_SAMPLER', KNOWN_SAMPLERS);
  enumVar('OTEL_LOG_LEVEL', KNOWN_LOG_LEVELS);
  enumVar('OTEL_SDK_DISABLED', ['true', 'false']);
  const port = env.OTEL_EXPORTER_PROMETHEUS_PORT;
  if (port !== undefined && port.trim() !== '') {
    const n = Number(port);
    if (Number.isInteger(n) && n > 0 && n < 65536) c('OTEL_EXPORTER_PROMETHEUS_PORT', 'ok', port);
    else c('OTEL_EXPORTER_PROMETHEUS_PORT', 'fail', `${port} is not a port number`, 'use a number from 1 to 65535 (default 9464)');
  }
  const sampler = env.OTEL_TRACES_SAMPLER_ARG;
  if (sampler !== undefined && sampler.trim() !== '' && /ratio/.test(env.OTEL_TRACES_SAMPLER ?? '')) {
    const r = Number(sampler);
    if (!(r >= 0 && r <= 1)) c('OTEL_TRACES_SAMPLER_ARG', 'fail', `${sampler} is not a ratio`, 'use a number from 0 to 1');
  }
  const svc = env.OTEL_SERVICE_NAME;
  if (svc !== undefined && svc.trim() === '') c('OTEL_SERVICE_NAME', 'warn', 'set but empty', 'unset it or give the service a name');
  const attrs = env.OTEL_RESOURCE_ATTRIBUTES;
  if (attrs !== undefined && attrs.trim() !== '') {
    const bad = attrs.split(',').filter((p) => p.trim() !== '' && !/^[^=]+=.*$/.test(p));
    if (bad.length > 0) c('OTEL_RESOURCE_ATTRIBUTES', 'warn', `cannot read: ${bad.join(', ')}`, 'use key=value pairs separated by commas');
    else c('OTEL_RESOURCE_ATTRIBUTES', 'ok', attrs);
  }
  return out;
}

export function environmentChecks(nodeVersion: string, sqlite: { version?: string; error?: string }): Check[] {
  const out: Check[] = [];
  const major = Number(nodeVersion.replace(/^v/, '').split('.')[0]);
  out.push(
    major >= 20
      ? { area: 'environment', name: 'node', status: 'ok', detail: nodeVersion }
      : { area: 'environment', name: 'node', status: 'fail', detail: `${nodeVersion}; agentloupe needs Node.js 20 or newer`, fix: 'install Node.js 20 LTS or newer' },
  );
  out.push(
    sqlite.version !== undefined
      ? { area: 'environment', name: 'better-sqlite3', status: 'ok', detail: `loads; SQLite ${sqlite.version}` }
      : {
          area: 'environment',
          name: 'better-sqlite3',
          status: 'fail',
          detail: `does not load: ${sqlite.error ?? 'unknown error'}`,
          fix: 'rebuild the native module for this Node.js: npm rebuild better-sqlite3',
        },
  );
  return out;
}
