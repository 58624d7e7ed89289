import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { StoreError } from '../../store/database.js';
import { DEFAULT_UI_HOST, DEFAULT_UI_PORT, UI_TOKEN_ENV_VAR } from '../../ui/defaults.js';
// The server's modules load when the command runs, so the other commands start without them.
import type { RunningUi } from '../../ui/server.js';
import { CliError, print, resolveDbPath, UsageError } from '../context.js';

interface UiCliOptions {
  db?: string;
  host: string;
  port: string;
  token?: string;
  open?: boolean;
}

/** Opens `url` in the desktop's browser; a machine without one just keeps the printed address. */
function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => process.stderr.write(`agentloupe: could not start a browser (${cmd}); open ${url} yourself\n`));
    child.unref();
  } catch {
    process.stderr.write(`agentloupe: could not start a browser; open ${url} yourself\n`);
  }
}

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('serve the web UI over a database: overview, runs, plans and traces, cost, sessions, health, live')
    .option('--db <path>', 'database file (default: AGENTLOUPE_DB, else the nearest .agentloupe/monitoring.db)')
    .option('--host <host>', 'address to listen on; anything but loopback needs --token', DEFAULT_UI_HOST)
    .option('--port <port>', 'port to listen on (0 picks a free one)', String(DEFAULT_UI_PORT))
    .option('--token <token>', `token a browser or client must present (default: ${UI_TOKEN_ENV_VAR})`)
    .option('--open', 'open it in the browser')
    .addHelpText('after', '\nExamples:\n  agentloupe ui\n  agentloupe ui --db swarm.db --port 8080 --open\n  agentloupe ui --host 0.0.0.0 --token "$(openssl rand -hex 16)"')
    .action(async (opts: UiCliOptions) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, not ${opts.port}`);
      const db = resolveDbPath(opts.db);
      if (!existsSync(db)) throw new StoreError(`no agentloupe database at ${db}. Pass --db PATH, set AGENTLOUPE_DB, or run npm run demo to make one.`, 'NOT_FOUND');
      const token = opts.token ?? (process.env[UI_TOKEN_ENV_VAR] || undefined);
      const { startUi, UiTokenRequiredError } = await import('../../ui/server.js');
      const { AssetsMissingError } = await import('../../ui/assets.js');
      let ui: RunningUi;
      try {
        ui = await startUi({ db, host: opts.host, port, token });
      } catch (err) {
        if (err instanceof UiTokenRequiredError) throw new UsageError(err.message);
        if (err instanceof AssetsMissingError) throw new CliError(err.message);
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new CliError(`port ${port} is in use: pass --port N (0 picks a free one)`);
        throw err;
      }
      print([`agentloupe UI for ${db}`, `  open: ${ui.openUrl}`, `  API:  ${ui.url}/ui/api/v1/`, 'Ctrl-C stops it.'].join('\n'));
      if (opts.open) openBrowser(ui.openUrl);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          ui.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
