/**
 * `node --require agentloupe/register app.js` for CommonJS apps.
 *
 * Node >= 20.19 (and 22.12) can require() an ES module synchronously: then this is exactly the
 * ESM hook, set up before the app's first line. Older Node cannot; the ESM setup is then started
 * with import() and finishes shortly after the app begins. So that no model call is missed in
 * that window, a stand-in fetch is installed synchronously first: a call made (or an SDK client
 * built) before the setup is done goes through the capturing fetch once it is ready. What the
 * window can still miss there: child processes spawned and process exits in the app's first tick.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const path: typeof import('node:path') = require('node:path');
const url: typeof import('node:url') = require('node:url');

const target = path.join(__dirname, 'register.js');

function report(err: unknown): void {
  if (process.env.AGENTLOUPE_LOG === 'silent') return;
  process.stderr.write(`agentloupe: auto-instrumentation is off for this process: ${String(err)}\n`);
}

function loadAsync(): void {
  const holder = globalThis as unknown as Record<symbol, unknown>;
  const original = globalThis.fetch;
  if (typeof original === 'function') {
    holder[Symbol.for('agentloupe.fetch.original')] = original;
    let ready: Promise<unknown> = Promise.resolve();
    const standIn = function fetch(input: Parameters<typeof original>[0], init?: RequestInit): Promise<Response> {
      return ready.then(() => {
        const capturing = holder[Symbol.for('agentloupe.fetch.capturing')] as typeof original | undefined;
        return (capturing ?? original)(input, init);
      });
    };
    globalThis.fetch = standIn;
    ready = import(url.pathToFileURL(target).href).catch((err: unknown) => {
      if (globalThis.fetch === standIn) globalThis.fetch = original;
      report(err);
    });
    return;
  }
  import(url.pathToFileURL(target).href).catch(report);
}

const forceAsync = process.env.AGENTLOUPE_REGISTER_ASYNC === '1';
if (forceAsync) {
  loadAsync();
} else {
  try {
    require(target);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_REQUIRE_ESM' || code === 'ERR_REQUIRE_ASYNC_MODULE') loadAsync();
    else report(err);
  }
}
