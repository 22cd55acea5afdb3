/**
 * `lancash audit` (DESIGN §6, §9): recomputes the invariants from the databases, prints a JSON report
 * and exits 1 when anything differs. `--wide-bank-db` checks invariant 1 (the wide bank's ledger
 * against its mint); the gateway's invariants join through `--gateway-db`.
 */
import type { Command } from 'commander';
import { isLancashError } from '../core/errors.js';
import { openStore, parseStoreUrl } from '../store/index.js';
import { auditWideBank } from '../wide-bank/audit.js';

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('check the invariants of DESIGN §6; prints JSON, exits 1 on any difference')
    .option(
      '--wide-bank-db <url>',
      "the wide bank's database: postgres://… or a SQLite file (…/wide-bank.db)",
    )
    .action(async (o: { wideBankDb?: string }) => {
      if (o.wideBankDb === undefined) {
        process.stderr.write('lancash audit: give --wide-bank-db URL\n');
        process.exitCode = 2;
        return;
      }
      try {
        const store = await openStore(parseStoreUrl(o.wideBankDb));
        try {
          const wideBank = await auditWideBank(store);
          process.stdout.write(`${JSON.stringify({ balanced: wideBank.balanced, wideBank }, null, 2)}\n`);
          if (!wideBank.balanced) process.exitCode = 1;
        } finally {
          await store.close();
        }
      } catch (err) {
        if (!isLancashError(err)) throw err;
        process.stderr.write(`${JSON.stringify({ error: err.toWire() })}\n`);
        process.exitCode = 1;
      }
    });
}
