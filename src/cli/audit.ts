/**
 * `lancash audit` (docs/design.md §6, §9): recomputes the invariants from the databases, prints one JSON report
 * and exits 1 when anything differs (each difference also as one line on stderr, naming its rows and
 * amounts). `--wide-bank-db` checks invariant 1 (the wide bank's ledger against its mint); with
 * `--gateway-db` as well, invariant 2 (the gateway's local money against its reserve account, joined
 * with the bank's idempotency table). A usage mistake exits 2, among them a SQLite file that does
 * not exist: opening it would make an empty database, and an empty database balances. The keysets
 * are checked against their ids with the mint's seed: a sealed seed needs the secrets key
 * (`--secrets-key-file` or `LANCASH_SECRETS_KEY`), else the report lists that check as not done.
 * `--since FILE` gives an earlier report (or its `checkpoint`): the rows frozen by then are compared.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { GatewayAudit } from '../gateway/audit.js';
import type { Store, StoreConfig } from '../store/index.js';
import { secretsKeyMaterial } from './private-data.js';
import { runCommand, usage, usageOf } from './usage.js';

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('check the invariants of docs/design.md §6; prints JSON, exits 1 on any difference')
    .option(
      '--wide-bank-db <url>',
      "the wide bank's database: postgres://… or a SQLite file (…/wide-bank.db)",
    )
    .option(
      '--gateway-db <url>',
      "the gateway's database (…/gateway.db): checks invariant 2 against --wide-bank-db",
    )
    .option(
      '--secrets-key-file <file>',
      'the key the seeds are sealed with (or LANCASH_SECRETS_KEY): to check the keysets against their ids',
    )
    .option(
      '--since <file>',
      "an earlier audit's JSON report (or its checkpoint): the rows written by then must be unchanged",
    )
    .action((o: AuditOptions) => runCommand('audit', () => audit(o)));
}

interface AuditOptions {
  wideBankDb?: string;
  gatewayDb?: string;
  secretsKeyFile?: string;
  since?: string;
}

async function audit(o: AuditOptions): Promise<void> {
  if (o.wideBankDb === undefined) {
    usage(
      o.gatewayDb === undefined
        ? 'give --wide-bank-db URL (and --gateway-db URL for the gateway)'
        : '--gateway-db needs --wide-bank-db URL (the reserve account is in the bank)',
    );
  }
  // The audits and the store load here: other commands do not pay for them.
  const [{ auditGateway }, { openStore, parseStoreUrl }, { auditWideBank }, { Checkpoint }, { decode }] =
    await Promise.all([
      import('../gateway/audit.js'),
      import('../store/index.js'),
      import('../wide-bank/audit.js'),
      import('../wide-bank/checkpoint/checkpoint.js'),
      import('../core/protocol/cashu.js'),
    ]);
  const since = o.since === undefined ? undefined : readCheckpoint(o.since);
  function readCheckpoint(file: string) {
    if (!existsSync(file)) usage(`--since: no file ${file}`);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      usage(`--since: ${file} is not JSON (give the report lancash audit printed)`);
    }
    const inReport =
      typeof json === 'object' && json !== null && 'wideBank' in json
        ? (json as { wideBank?: { checkpoint?: unknown } }).wideBank?.checkpoint
        : undefined;
    return usageOf(() => decode(Checkpoint, inReport ?? json, 'checkpoint'), '--since');
  }
  const secretsKey = secretsKeyMaterial(o.secretsKeyFile);
  const existing = (flag: string, url: string): StoreConfig => {
    const config = usageOf(() => parseStoreUrl(url), flag);
    if (config.dialect === 'sqlite' && config.file !== ':memory:' && !existsSync(config.file))
      usage(`${flag}: no database at ${config.file}`);
    return secretsKey === undefined ? config : { ...config, secretsKey };
  };
  const bankConfig = existing('--wide-bank-db', o.wideBankDb);
  const gatewayConfig = o.gatewayDb === undefined ? undefined : existing('--gateway-db', o.gatewayDb);
  const stores: Store[] = [];
  try {
    const bankStore = await openStore(bankConfig);
    stores.push(bankStore);
    const wideBank = await auditWideBank(bankStore, since === undefined ? {} : { since });
    let gateway: GatewayAudit | undefined;
    if (gatewayConfig !== undefined) {
      const gatewayStore = await openStore(gatewayConfig);
      stores.push(gatewayStore);
      gateway = await auditGateway({ gatewayStore, wideBankStore: bankStore });
    }
    const balanced = wideBank.balanced && (gateway?.balanced ?? true);
    const report = { balanced, wideBank, ...(gateway !== undefined ? { gateway } : {}) };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    for (const d of [...wideBank.differences, ...(gateway?.differences ?? [])]) {
      const own = 'row' in d || 'tx' in d || 'account' in d ? [d.row, d.tx, d.account] : [];
      const rows = [...own, ...(d.rows ?? [])].filter((r) => r !== undefined);
      process.stderr.write(
        `difference: ${d.what}: expected ${d.expected}, actual ${d.actual} (${rows.join(', ')})\n`,
      );
    }
    if (!balanced) process.exitCode = 1;
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}
