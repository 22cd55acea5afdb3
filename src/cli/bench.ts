/**
 * `lancash bench [scenario]`: runs a benchmark scenario and prints JSON figures. Speed goals live
 * here, never in tests; figures are ratios against a bound measured in the same run.
 */
import type { Command } from 'commander';

/**
 * The keys of `SCENARIOS` in `bench/index.ts` (a test holds them equal), named here so that the help
 * text does not load every scenario and the roles they start.
 */
export const SCENARIO_NAMES: readonly string[] = ['mint', 'wide-bank', 'gateway'];

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(`run a benchmark and print JSON figures (scenarios: ${SCENARIO_NAMES.join(', ')})`)
    .argument('[scenario]', 'scenario name', 'mint')
    .option('--scenario <name>', 'scenario name (same as the argument)')
    .option('--seconds <s>', 'seconds per measurement', '5')
    .option('--dialects <list>', 'comma list of sqlite,postgres', 'sqlite,postgres')
    .option(
      '--rows <n>',
      'gateway: spent notes at each mint and finished jobs in the journal first, e.g. 1e6',
      '0',
    )
    .action(
      async (arg: string, o: { scenario?: string; seconds: string; dialects: string; rows: string }) => {
        const name = o.scenario ?? arg;
        const run = SCENARIO_NAMES.includes(name)
          ? (await import('../bench/index.js')).SCENARIOS[name]
          : undefined;
        if (!run) {
          console.error(`lancash bench: unknown scenario '${name}' (known: ${SCENARIO_NAMES.join(', ')})`);
          process.exitCode = 2;
          return;
        }
        const seconds = Number(o.seconds);
        if (!(seconds > 0 && seconds <= 600)) {
          console.error(`lancash bench: --seconds must be a number from 0 to 600, got '${o.seconds}'`);
          process.exitCode = 2;
          return;
        }
        const dialects = o.dialects.split(',').map((d) => d.trim());
        const unknown = dialects.find((d) => d !== 'sqlite' && d !== 'postgres');
        if (unknown !== undefined) {
          console.error(`lancash bench: --dialects: unknown dialect '${unknown}' (known: sqlite, postgres)`);
          process.exitCode = 2;
          return;
        }
        const rows = Number(o.rows);
        if (!(Number.isInteger(rows) && rows >= 0 && rows <= 1e8)) {
          console.error(`lancash bench: --rows must be a whole number from 0 to 1e8, got '${o.rows}'`);
          process.exitCode = 2;
          return;
        }
        const result = await run({ seconds, dialects, rows });
        console.log(JSON.stringify(result, null, 2));
      },
    );
}
