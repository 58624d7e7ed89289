// Issue 15: is the web UI interactive on a large database? On the queries bench's file (100,000
// agents in 2,000 plans, 1,000,000 telemetry rows; --quick: a tenth), served by `agentloupe ui`'s
// server over real HTTP on 127.0.0.1:
// - the median time of each API call the pages make (goal < 100 ms), against two baselines
//   measured in the same run: one bare pass over telemetry (SQLite, no HTTP) and the cheapest
//   API call (/changes: HTTP and JSON only);
// - the runs page's first render in Debian's Chromium (goal < 1 s): from navigation start to the
//   table's rows on screen, a fresh page each time (assets cached after the first).
import { MonitoringStore } from '../dist/src/index.js';
import { startUi } from '../dist/src/ui/server.js';
import { CHROMIUM_MISSING, launchChromium } from '../test/ui-fixture.mjs';
import { largeDatabase } from './queries.bench.mjs';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export default async function ({ quick = false, log } = {}) {
  const { path, agents, note } = largeDatabase({ quick, log });
  const notes = [note];
  const results = { agents, telemetryRows: agents * 10 };
  const runs = quick ? 3 : 7;
  const plan = `PLAN-${String(Math.floor(agents / 50 / 2)).padStart(5, '0')}`;
  const agent = `agent-${String(Math.floor(agents / 2)).padStart(7, '0')}`;

  const store = MonitoringStore.open(path, { readonly: true });
  const time = async (fn) => {
    await fn(); // warm the page cache
    const xs = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await fn();
      xs.push(performance.now() - t);
    }
    return median(xs);
  };
  const baseline = await time(() => store.db.prepare('SELECT COUNT(*) AS n, SUM(total_tokens) AS t FROM telemetry').get());
  store.close();
  results['baseline: one pass over telemetry, SQLite only (ms)'] = Number(baseline.toFixed(1));

  const ui = await startUi({ db: path, port: 0, checkProcesses: false });
  try {
    const get = async (p) => {
      const res = await fetch(`${ui.url}/ui/api/v1/${p}`);
      if (res.status !== 200) throw new Error(`${p}: ${res.status} ${await res.text()}`);
      return res.arrayBuffer();
    };
    const http = await time(() => get('changes'));
    results['baseline: /changes, HTTP + JSON only (ms)'] = Number(http.toFixed(2));
    // What each page asks for (ui/src/pages/*), first load.
    const calls = {
      'overview (Overview)': 'overview',
      'timeline (Overview)': 'timeline',
      'cost?by=model (Overview, Cost)': 'cost?by=model',
      'cost?by=provider (Overview)': 'cost?by=provider',
      'cost?by=type (Overview)': 'cost?by=type',
      'cost?by=plan (Overview)': 'cost?by=plan',
      'cost?by=agent (Cost)': 'cost?by=agent',
      'cost?by=day (Cost)': 'cost?by=day',
      'cost?by=model&since=7d (Cost)': 'cost?by=model&since=7d',
      'runs (Runs, page 1)': 'runs?limit=50',
      'runs?status=failed (Runs)': 'runs?status=failed&limit=50',
      'runs?q=error (Runs, free text)': 'runs?q=tool%20error&limit=50',
      'runs?sort=duration (Runs)': 'runs?sort=duration&limit=50',
      'runs?offset=50000 (Runs, deep page)': `runs?limit=50&offset=${Math.floor(agents / 2)}`,
      'agent-types (Runs)': 'agent-types',
      [`view?plan= (Plan, 50 agents)`]: `view?plan=${plan}`,
      [`view?agent= (Run)`]: `view?agent=${agent}`,
      'sessions (Sessions)': 'sessions?limit=50',
      'health (Health)': 'health',
      'live (Live)': 'live',
      'changes (every page, each 1.5 s)': 'changes',
    };
    let worst = 0;
    for (const [name, p] of Object.entries(calls)) {
      const ms = await time(() => get(p));
      worst = Math.max(worst, ms);
      results[`${name} (ms)`] = Number(ms.toFixed(1));
      results[`${name} (x baseline)`] = Number((ms / baseline).toPrecision(2));
    }
    results['slowest API call (ms)'] = Number(worst.toFixed(1));

    const browser = await launchChromium();
    if (!browser) notes.push(`runs page first render not measured: ${CHROMIUM_MISSING}`);
    else {
      try {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        const renders = [];
        for (let i = 0; i < runs + 1; i++) {
          const page = await context.newPage();
          const t = performance.now();
          await page.goto(`${ui.url}/runs`, { waitUntil: 'commit' });
          await page.waitForSelector('[data-testid=runs-table] tbody tr.link-row', { timeout: 30_000 });
          const ms = performance.now() - t;
          const rows = await page.locator('[data-testid=runs-table] tbody tr').count();
          if (rows !== 50) throw new Error(`runs page rendered ${rows} rows, expected 50`);
          if (i > 0) renders.push(ms); // the first load fetches the assets
          await page.close();
        }
        await context.close();
        results['runs page first render in Chromium (ms)'] = Number(median(renders).toFixed(0));
        results['runs page first render (x API baseline)'] = Number((median(renders) / http).toPrecision(2));
      } finally {
        await browser.close();
      }
    }
  } finally {
    await ui.close();
  }
  notes.push(`median of ${runs} after one warm-up, over HTTP on 127.0.0.1 with the page cache warm; plan ${plan}, agent ${agent}; the machine is shared, so read the ratios`);
  return { name: 'ui', results, notes };
}
