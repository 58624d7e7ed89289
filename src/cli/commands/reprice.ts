import type { Command } from 'commander';
import { reprice, type RepriceResult } from '../../store/reprice.js';
import { PriceTable, PricingError, PRICING_ENV_VAR } from '../../telemetry/pricing.js';
import { CliError, parseTime, print, printJson, withWritableDb } from '../context.js';
import * as f from '../format.js';

interface RepriceOptions {
  db?: string;
  json?: boolean;
  model?: string;
  since?: string;
  unpricedOnly?: boolean;
  dryRun?: boolean;
}

export function registerReprice(program: Command): void {
  program
    .command('reprice')
    .description('price stored model calls again from the current price table (built-in plus AGENTLOUPE_PRICING)')
    .option('--model <prefix>', 'only models whose name starts with this')
    .option('--since <time>', 'only calls since (24h, 7d, 2026-11-01)')
    .option('--unpriced-only', 'only calls stored as unpriced (keeps costs a hook or a coding agent reported)')
    .option('--dry-run', 'say what would change, change nothing')
    .option('--db <path>', 'database file')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
A call the price table still has no price for is left as it is. The change is one transaction:
the calls' cost, their unpriced flag, their spans' cost attribute and the hourly rollup.

Examples:
  AGENTLOUPE_PRICING=prices.json agentloupe reprice --dry-run
  agentloupe reprice --model qwen3 --since 30d`,
    )
    .action((opts: RepriceOptions) => {
      const since = opts.since !== undefined ? parseTime(opts.since) : undefined;
      let prices: PriceTable;
      try {
        prices = PriceTable.fromEnv();
      } catch (err) {
        if (!(err instanceof PricingError)) throw err;
        throw new CliError(`${err.message.split('\n').join('; ')}. Fix the file named by ${PRICING_ENV_VAR} (docs/configuration.md), then run reprice again; nothing was changed.`);
      }
      const result = withWritableDb(opts, (db) => reprice(db, prices, { modelPrefix: opts.model, since, unpricedOnly: opts.unpricedOnly, dryRun: opts.dryRun }));
      if (opts.json) printJson(result);
      else print(renderReprice(result));
    });
}

function renderReprice(r: RepriceResult): string {
  const verb = r.dryRun ? 'would change' : 'changed';
  const out = [`${r.examined} model call${r.examined === 1 ? '' : 's'} examined; ${verb} ${r.changed} (${r.nowPriced} newly priced)`];
  if (r.byModel.length > 0) {
    out.push(
      f.fitTable(
        [{ header: 'model', min: 12 }, { header: 'calls', right: true }, { header: 'newly priced', right: true }, { header: 'cost before', right: true }, { header: 'cost after', right: true }],
        r.byModel.map((m) => [m.model ?? '(none)', String(m.calls), String(m.nowPriced), f.usd(m.costBefore, m.nowPriced), f.usd(m.costAfter)]),
      ),
    );
    out.push(`total cost of these calls: ${f.usd(r.costBefore, r.nowPriced)} -> ${f.usd(r.costAfter)}`);
  }
  if (r.stillUnpriced > 0) out.push(`${r.stillUnpriced} call${r.stillUnpriced === 1 ? ' is' : 's are'} still unpriced: add ${r.stillUnpriced === 1 ? 'its model' : 'their models'} to the ${PRICING_ENV_VAR} file`);
  if (r.dryRun && r.changed > 0) out.push('dry run: nothing was changed');
  return out.join('\n');
}
