/**
 * `lancash bench [scenario]`: runs a benchmark scenario and prints JSON figures. Speed goals live
 * here, never in tests; figures are ratios against a bound measured in the same run.
 */
import type { Command } from 'commander';
import { SCENARIOS } from '../bench/index.js';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(`run a benchmark and print JSON figures (scenarios: ${Object.keys(SCENARIOS).join(', ')})`)
    .argument('[scenario]', 'scenario name', 'mint')
    .option('--scenario <name>', 'scenario name (same as the argument)')
    .option('--seconds <s>', 'seconds per measurement', '5')
    .option('--dialects <list>', 'comma list of sqlite,postgres', 'sqlite,postgres')
    .action(async (arg: string, o: { scenario?: string; seconds: string; dialects: string }) => {
      const name = o.scenario ?? arg;
      const run = SCENARIOS[name];
      if (!run) {
        console.error(
          `lancash bench: unknown scenario '${name}' (known: ${Object.keys(SCENARIOS).join(', ')})`,
        );
        process.exitCode = 2;
        return;
      }
      const seconds = Number(o.seconds);
      if (!(seconds > 0 && seconds <= 600)) {
        console.error(`lancash bench: --seconds must be a number from 0 to 600, got '${o.seconds}'`);
        process.exitCode = 2;
        return;
      }
      const result = await run({ seconds, dialects: o.dialects.split(',').map((d) => d.trim()) });
      console.log(JSON.stringify(result, null, 2));
    });
}
