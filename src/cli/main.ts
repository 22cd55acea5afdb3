/**
 * The `lancash` command line (docs/design.md §9): one entry point for every role. Each sub-command lives in
 * its own module and is registered here; this file only wires them together. Registering is cheap:
 * each module imports its role's server, store and crypto inside its action (`lazy.test.ts` checks).
 */
import { Command } from 'commander';
import { registerAudit } from './audit.js';
import { registerBench } from './bench.js';
import { registerDemo } from './demo.js';
import { registerGateway } from './gateway.js';
import { registerSoak } from './soak.js';
import { commanderExit, EXIT_CODES } from './usage.js';
import { registerWallet } from './wallet.js';
import { registerWideBank } from './wide-bank.js';

export function buildProgram(): Command {
  const program = new Command('lancash')
    .description('Local money on a LAN, wide money on the WAN, and a gateway that converts between them.')
    .version('0.1.0')
    // Before the sub-commands are registered: they copy these settings when created.
    .exitOverride(commanderExit)
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES);
  registerDemo(program);
  registerBench(program);
  registerWideBank(program);
  registerGateway(program);
  registerWallet(program);
  registerAudit(program);
  registerSoak(program);
  return program;
}

const program = buildProgram();
if (process.argv.length <= 2) {
  program.outputHelp();
} else {
  await program.parseAsync(process.argv);
}
