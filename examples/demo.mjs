// A multi-agent orchestration that needs no API key and no network: a planner agent plans a
// change, runs a developer, a tester and a reviewer in parallel (the reviewer fails), and a
// documenter under the developer. Model calls are simulated with realistic usage from two
// providers (and one self-hosted model with no known price); everything lands in the default
// database (.agentloupe/monitoring.db).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createMonitor } from 'agentloupe';

const cli = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const planId = `DEMO-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`;

const monitor = createMonitor({ serviceName: 'agentloupe-demo' });
// --serve keeps the process (and its metrics endpoint) up after the run, for Prometheus and Grafana.
const serve = process.argv.includes('--serve');
if (serve) {
  monitor.health.registerDefaults();
  for (const worker of ['planner', 'developer', 'tester', 'reviewer']) monitor.heartbeat(`demo-${worker}`, { type: 'demo-agent' });
}

// Each simulated call takes the time its span says: the work sleeps, then records that duration.
const call = async (run, usage, ms) => {
  await sleep(ms);
  run.recordUsage({ ...usage, durationMs: ms });
};
const tool = (run, spec, ms) => run.withTool(spec, () => sleep(ms));

await monitor.withAgent({ type: 'planner', name: 'planner', planId, category: 'orchestration' }, async (planner) => {
  await call(planner, {
    provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 12_400, outputTokens: 1_850,
    cacheReadTokens: 9_800, cacheCreationTokens: 1_200,
  }, 230);
  await tool(planner, { name: 'read_file', args: { path: 'src/app.ts' }, approved: true, approvalType: 'auto' }, 4);

  await Promise.all([
    monitor.withAgent({ type: 'developer', category: 'engineering' }, async (dev) => {
      await call(dev, { provider: 'openai', model: 'gpt-4o-2024-08-06', inputTokens: 8_200, outputTokens: 2_400, cacheReadTokens: 4_096 }, 310);
      await tool(dev, { name: 'bash', args: { cmd: 'npm test', env: { API_TOKEN: 'not-stored' } }, approved: true, approvalType: 'policy' }, 125);
      await monitor.withAgent({ type: 'documenter', category: 'engineering' }, async (doc) => {
        await call(doc, { provider: 'openai', model: 'gpt-4o-mini', inputTokens: 3_100, outputTokens: 900 }, 80);
        // A self-hosted model with no price in the table: stored and shown as "unpriced", not as $0.
        await call(doc, { provider: 'vllm', model: 'qwen3-coder-30b', inputTokens: 2_200, outputTokens: 400 }, 65);
      });
    }),
    monitor.withAgent({ type: 'tester', category: 'engineering' }, async (tester) => {
      await call(tester, { provider: 'openai', model: 'o4-mini', inputTokens: 5_000, outputTokens: 3_200, reasoningTokens: 2_048 }, 420);
      await tool(tester, { name: 'run_tests', args: { suite: 'unit' }, approved: true, approvalType: 'user' }, 290);
    }),
    monitor
      .withAgent({ type: 'reviewer', category: 'quality' }, async (reviewer) => {
        await call(reviewer, { provider: 'anthropic', model: 'claude-haiku-4-5', inputTokens: 6_000, outputTokens: 700, cacheReadTokens: 5_200 }, 90);
        reviewer.recordTool({ name: 'git_push', args: { branch: 'main' }, approved: false, approvalType: 'policy' });
        throw new Error('lint failed: 3 problems in src/app.ts');
      })
      .catch(() => {}),
  ]);
});

if (serve) await monitor.forceFlush();
else await monitor.shutdown();

const db = monitor.sqlite?.path ?? '.agentloupe/monitoring.db';
const run = (...args) => {
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
};
console.log(`\nWrote plan ${planId} to ${db}\n`);
run('tree', '--plan', planId);
console.log('');
run('stats', '--recent', '5');
console.log(`
Next:
  npx agentloupe agents --status failed        # the reviewer that failed
  npx agentloupe tree --plan ${planId}
  npx agentloupe cost --by model
  npx agentloupe stats --json
The database is SQLite: sqlite3 ${db} 'SELECT * FROM agents'`);
if (!serve) {
  console.log(`
See it in the browser (tree, waterfall, cost, live):
  npx agentloupe ui --open       # then open the address it prints (http://127.0.0.1:4319/)
  npm run demo -- --serve        # or run the demo again and keep serving the UI`);
}

if (serve) {
  // The web UI over the same database, in this process (4319, or a free port when that is taken),
  // with this process's /healthz and /readyz on the same port.
  const { startUi } = await import(new URL('../dist/src/ui/server.js', import.meta.url).href);
  const uiPort = Number(process.env.AGENTLOUPE_UI_PORT || 4319);
  const options = { db, health: monitor.health };
  const ui = await startUi({ ...options, port: uiPort }).catch((err) => (err.code === 'EADDRINUSE' ? startUi({ ...options, port: 0 }) : Promise.reject(err)));
  console.log(`\nWeb UI: ${ui.openUrl}   health: ${ui.url}/healthz  ${ui.url}/readyz`);
  const port = process.env.OTEL_EXPORTER_PROMETHEUS_PORT || '9464';
  const host = process.env.OTEL_EXPORTER_PROMETHEUS_HOST || 'localhost';
  // The exporter only warns when its port is taken; asking the endpoint tells whether it is ours.
  const ours = monitor.prometheus !== undefined &&
    (await fetch(`http://${host}:${port}/metrics`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => '').catch(() => '')).includes('agentloupe_');
  console.log(ours
    ? `\nServing metrics at http://${host}:${port}/metrics until Ctrl-C (SIGINT) or SIGTERM.`
    : monitor.prometheus
      ? `\nServing the UI until Ctrl-C (SIGINT) or SIGTERM; no metrics endpoint: ${host}:${port} is taken (set OTEL_EXPORTER_PROMETHEUS_PORT to a free port).`
      : '\nServing until Ctrl-C (SIGINT) or SIGTERM; set OTEL_METRICS_EXPORTER=prometheus for a metrics endpoint.');
  const stop = () => Promise.all([ui.close(), monitor.shutdown()]).finally(() => process.exit(process.exitCode ?? 0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
}
