// npm run screenshots: a PNG of every UI page at 1280x800 in screenshots/ (git-ignored), over a
// database written by the demo and by the collector (a coding-agent session, captured content).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCollector } from '../dist/src/collector/server.js';
import { CHROMIUM_MISSING, demoDatabase, feedCollector, launchChromium, SESSION, watchedPage } from './ui-fixture.mjs';

const out = fileURLToPath(new URL('../screenshots/', import.meta.url));
mkdirSync(out, { recursive: true });
const browser = await launchChromium();
if (!browser) {
  console.error(`screenshots: ${CHROMIUM_MISSING}`);
  process.exit(1);
}
const demo = demoDatabase();
const collector = await startCollector({ port: 0, db: demo.db });
try {
  await feedCollector(collector.url);
  await collector.flush();
  const pages = [
    ['overview', '/'],
    ['runs', '/runs'],
    ['plan', `/plan/${encodeURIComponent(demo.plan)}`],
    ['run-conversation', '/run/inj-agent?span=00000000000000b1'],
    ['run-tool-error', '/run/inj-agent?span=00000000000000c1'],
    ['cost', '/cost?by=model'],
    ['sessions', '/sessions'],
    ['session', `/sessions/claude-code-${SESSION.id}`],
    ['health', '/health'],
    ['live', '/live'],
  ];
  for (const scheme of ['light', 'dark']) {
    const { page, context, problems, dialogs, goto } = await watchedPage(browser, { colorScheme: scheme });
    for (const [name, path] of scheme === 'light' ? pages : pages.slice(0, 3)) {
      await goto(`${collector.url}${path}`);
      await page.waitForLoadState('networkidle');
      await page.waitForFunction(() => !document.querySelector('.loading'));
      if (name === 'run-conversation') await page.locator('[data-testid=conversation]').scrollIntoViewIfNeeded();
      const file = join(out, `${name}${scheme === 'dark' ? '-dark' : ''}.png`);
      await page.screenshot({ path: file });
      console.log(file);
    }
    if (problems.length || dialogs.length) console.error(`problems (${scheme}):\n  ${[...problems, ...dialogs.map((d) => `dialog: ${d}`)].join('\n  ')}`);
    await context.close();
  }
} finally {
  await browser.close();
  await collector.close();
}
