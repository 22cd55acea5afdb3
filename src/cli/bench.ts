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
    .option('--warmup <s>', 'gateway, mint: untimed seconds before each window (default 10)')
    .option(
      '--rate <n>',
      "gateway: the open loop's conversions/s per direction, 'half' the closed loop's, or 'none'",
      'half',
    )
    .option('--bank-process', 'gateway: the wide bank in its own process, as deployed')
    .option('--no-bank-process', 'gateway: the wide bank in the bench process (for --cpu-prof)')
    .option(
      '--trace-steps',
      "gateway: mark each hop of every conversion and answer the gaps' median and p99 per direction (stepGapsMs), the slowest conversions, and on PostgreSQL what the servers' processes were doing (pgWaits)",
    )
    .option(
      '--pg-stats',
      "gateway, mint: each PostgreSQL database's statements over the window, per unit of work (pg_stat_statements on the throwaway server)",
    )
    .action(
      async (
        arg: string,
        o: {
          scenario?: string;
          seconds: string;
          dialects: string;
          rows: string;
          warmup?: string;
          rate: string;
          bankProcess?: boolean;
          traceSteps?: boolean;
          pgStats?: boolean;
        },
      ) => {
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
        const warmup = o.warmup === undefined ? undefined : Number(o.warmup);
        if (warmup !== undefined && !(warmup >= 0 && warmup <= 600)) {
          console.error(`lancash bench: --warmup must be a number from 0 to 600, got '${o.warmup}'`);
          process.exitCode = 2;
          return;
        }
        const rate = o.rate === 'half' || o.rate === 'none' ? o.rate : Number(o.rate);
        if (typeof rate === 'number' && !(rate > 0 && rate <= 10_000)) {
          console.error(
            `lancash bench: --rate must be half, none or a number from 0 to 1e4, got '${o.rate}'`,
          );
          process.exitCode = 2;
          return;
        }
        const result = await run({
          seconds,
          dialects,
          rows,
          rate,
          ...(warmup !== undefined ? { warmupSeconds: warmup } : {}),
          ...(o.bankProcess !== undefined ? { bankProcess: o.bankProcess } : {}),
          ...(o.traceSteps === true ? { traceSteps: true } : {}),
          ...(o.pgStats === true ? { pgStats: true } : {}),
        });
        console.log(JSON.stringify(result, null, 2));
      },
    );
}
