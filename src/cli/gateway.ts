/**
 * `lancash gateway` (DESIGN §9): runs the gateway between the LAN and the WAN. It prints
 * `listening on URL` for the LAN listener, then for the WAN listener, as its first stdout lines; logs
 * are pino JSON on stderr. The operator token comes from `LANCASH_OPERATOR_TOKEN` or from
 * `DIR/operator.token` (written on first start with `--data DIR`); it is never printed.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe } from '../core/errors.js';
import type { Gateway } from '../gateway/server.js';
import type { StoreConfig } from '../store/index.js';
import { runCommand, usage } from './usage.js';

interface GatewayCliOptions {
  lan?: string;
  wan?: string;
  wideBank?: string;
  data?: string;
  db?: string;
  currency: string;
  lanUrl?: string;
  retryCapMs: string;
  concurrency: string;
  callTimeoutMs?: string;
  mailboxLimits?: string;
}

export function registerGateway(program: Command): void {
  program
    .command('gateway')
    .description('run the gateway: local mint and LAN → WAN intake on the LAN, WAN → LAN intake on the WAN')
    .option('--lan <host:port>', 'LAN listener; port 0 picks a free one')
    .option('--wan <host:port>', 'WAN listener; port 0 picks a free one')
    .option('--wide-bank <url>', "the wide bank's URL")
    .option('--data <dir>', 'data directory (SQLite file <dir>/gateway.db, operator.token)')
    .option('--db <url>', 'database URL instead of --data, e.g. postgres://user@host/db')
    .option('--currency <code>', 'currency of the deployment (the wide bank’s)', 'EUR')
    .option('--lan-url <url>', 'the local mint’s URL as LAN terminals reach it (default: the LAN listener’s)')
    .option('--retry-cap-ms <ms>', 'longest wait between retries of a job step', '30000')
    .option('--concurrency <n>', 'jobs driven at once', '16')
    .option('--call-timeout-ms <ms>', 'per call to the wide bank and per delivery (default 10000)')
    .option(
      '--mailbox-limits <json>',
      'LAN mailbox limits, e.g. {"maxTotalBytes":1073741824} (docs/mailbox.md)',
    )
    .action((o: GatewayCliOptions) => runCommand('gateway', () => serve(o)));
}

async function serve(o: GatewayCliOptions): Promise<void> {
  if (o.lan === undefined || o.wan === undefined) usage('--lan HOST:PORT and --wan HOST:PORT are required');
  if (o.wideBank === undefined) usage('--wide-bank URL is required');
  if ((o.data === undefined) === (o.db === undefined)) usage('give exactly one of --data DIR or --db URL');
  const retryCapMs = positive(o.retryCapMs, '--retry-cap-ms');
  const concurrency = positive(o.concurrency, '--concurrency');
  const callTimeoutMs =
    o.callTimeoutMs === undefined ? undefined : positive(o.callTimeoutMs, '--call-timeout-ms');
  // The gateway's modules load here, after the arguments are checked: other commands do not pay for them.
  const [
    { faultsArmed },
    { drainOnSignals },
    { exponentialBackoff },
    { loadOperatorToken },
    { createGateway },
    { openStore, parseStoreUrl },
    { setHttpTransport },
    { undiciTransport },
  ] = await Promise.all([
    import('../core/faults.js'),
    import('../core/http/server.js'),
    import('../gateway/jobs/runner.js'),
    import('../gateway/operator.js'),
    import('../gateway/server.js'),
    import('../store/index.js'),
    import('../core/http/client.js'),
    import('../core/http/node-transport.js'),
  ]);
  const mailboxLimits =
    o.mailboxLimits === undefined
      ? undefined
      : (await import('../mailbox/service.js')).parseMailboxLimits(o.mailboxLimits, '--mailbox-limits');
  // The gateway calls the bank and inboxes all day: undici's request costs a third of fetch's CPU.
  setHttpTransport(undiciTransport);
  let config: StoreConfig;
  if (o.db !== undefined) {
    config = parseStoreUrl(o.db);
  } else {
    mkdirSync(o.data!, { recursive: true });
    config = { dialect: 'sqlite', file: join(o.data!, 'gateway.db') };
  }
  const operatorToken = loadOperatorToken({ env: process.env.LANCASH_OPERATOR_TOKEN, dataDir: o.data });
  const store = await openStore(config);
  let gateway: Gateway;
  try {
    gateway = await createGateway({
      store,
      currency: o.currency,
      wideBank: o.wideBank,
      ...(operatorToken !== undefined ? { operatorToken } : {}),
      ...(o.lanUrl !== undefined ? { localMintUrl: o.lanUrl } : {}),
      ...(callTimeoutMs !== undefined ? { callTimeoutMs } : {}),
      ...(mailboxLimits !== undefined ? { mailboxLimits } : {}),
      runner: { concurrency, backoff: exponentialBackoff({ capMs: retryCapMs }) },
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const log = gateway.lan.log;
  if (operatorToken === undefined)
    log.warn('no operator token (LANCASH_OPERATOR_TOKEN or --data): operator routes refuse everyone');
  const armed = faultsArmed();
  if (armed.length > 0)
    log.warn({ faults: armed }, 'LANCASH_FAULT is set: this process will kill itself at these points');
  drainOnSignals([gateway.lan, gateway.wan], async () => {
    await gateway.close();
    await store.close();
  });
  const urls = await gateway.listen(o.lan!, o.wan!);
  log.info(
    { ...urls, wideBank: gateway.bank.base, key: gateway.keys.publicKeyHex, dialect: store.dialect },
    'gateway listening',
  );
  process.stdout.write(`listening on ${urls.lan}\nlistening on ${urls.wan}\n`);
  // After the lines are out: a job resumed at once may stop the process at a test's fault point.
  await gateway.start();
}

function positive(value: string, argument: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value))
    usage(`${argument}: expected a positive whole number, got ${describe(value)}`);
  return Number(value);
}
