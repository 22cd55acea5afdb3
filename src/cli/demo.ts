/**
 * `lancash demo` (= `npm start`): runs the whole system on loopback with embedded SQLite, shows both
 * conversion jobs and same-network payments, audits, then keeps serving and prints a walkthrough of
 * CLI commands against the running system, then the web wallet and console URLs and the operator
 * token (it opens no browser). `--once --json` runs the scenario and exits.
 */
import type { Command } from 'commander';
import { isLancashError } from '../core/errors.js';
import type { DemoReport, RunningDemo } from '../demo/scenario.js';
import { privateUmask } from './private-data.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole system on loopback (wide bank, gateway, five terminals) and keep serving')
    .option('--data <dir>', 'data directory (rebuilt on every run)', './data/demo')
    .option('--once', 'run the scenario, print the result and exit')
    .option('--json', 'machine-readable output: one JSON line last')
    .action(async (o: { data: string; once?: boolean; json?: boolean }) => {
      // The demo's databases hold seeds and keys too (issue 8 item 7): its files are its user's only.
      privateUmask();
      // The whole system loads here: other commands do not pay for it.
      const [{ money, runDemo }, { setHttpTransport }, { undiciTransport }] = await Promise.all([
        import('../demo/scenario.js'),
        import('../core/http/client.js'),
        import('../core/http/node-transport.js'),
      ]);
      setHttpTransport(undiciTransport); // the in-process gateway's calls, as in `lancash gateway`
      const say = o.json ? () => {} : (line: string) => console.log(`  ${line}`);
      let running: RunningDemo;
      try {
        if (!o.json) console.log('lancash demo: local money on a LAN, wide money on the WAN, one gateway\n');
        running = await runDemo({ dataDir: o.data, say });
      } catch (e) {
        const line = isLancashError(e) ? `${e.message} (code ${e.code})` : String(e);
        if (o.json) console.log(JSON.stringify({ ok: false, error: line }));
        else console.error(`lancash demo: ${line}`);
        process.exitCode = 1;
        return;
      }
      const { report } = running;
      if (o.json) console.log(JSON.stringify({ ok: report.audit.balanced, ...report }));
      else printSummary(report, money);
      if (o.once) {
        await running.close();
        process.exitCode = report.audit.balanced ? 0 : 1;
        return;
      }
      const stop = async () => {
        console.log('\nlancash demo: stopping');
        await running.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

function printSummary(r: DemoReport, money: (minor: number) => string): void {
  console.log('\nBalances');
  for (const [name, b] of Object.entries(r.balances)) {
    console.log(`  ${name.padEnd(6)} ${b.network.toUpperCase()}  ${money(b.available).padStart(12)}`);
  }
  console.log(`\nAudit: ${r.audit.balanced ? 'balanced (invariants 1 and 2 hold)' : 'NOT balanced'}`);
  const t = r.terminals;
  const w = (name: string) => `npx lancash wallet --home ${t[name]?.home}`;
  console.log(`
Running (Ctrl-C stops):
  wide bank        ${r.urls.wideBank}        (Cashu mint: try ${r.urls.wideBank}/v1/info)
  gateway, LAN     ${r.urls.gatewayLan}        (local mint + job 1 + LAN mailbox)
  gateway, WAN     ${r.urls.gatewayWan}        (job 2 only)

Walkthrough, in another terminal:
  ${w('alice')} balance
  ${w('alice')} send --to ${t.bob?.address} --amount 1.00
  ${w('bob')} receive
  ${w('bob')} send --to ${t.dave?.address} --amount 2.50     # LAN → WAN through the gateway
  ${w('dave')} receive
  ${w('dave')} token send --amount 0.50                     # a cashuB token for any Cashu wallet
  ${w('erin')} history
  npx lancash audit --wide-bank-db ${t.alice ? `${dirOf(t.alice.home)}/wide-bank/wide-bank.db` : ''} --gateway-db ${t.alice ? `${dirOf(t.alice.home)}/gateway/gateway.db` : ''}

In the browser (open these yourself; each browser profile is a new wallet):
  LAN wallet        ${r.urls.lanWallet}        (a member on the organisation's LAN: pays lan1… and wan1… addresses)
  WAN wallet        ${r.urls.wanWallet}        (a terminal on the WAN, served by the wide bank)
  operator console  ${r.urls.console}
  operator token    ${r.urls.operatorToken}
`);
}

/** The demo's data directory, from a terminal's home (`DIR/terminals/NAME`). */
function dirOf(home: string): string {
  return home.replace(/\/terminals\/[^/]+$/, '');
}
