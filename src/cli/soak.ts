/**
 * `lancash soak` (`npm run soak -- --minutes N`): real servers, mixed traffic from worker processes,
 * ~1 % faults between gateway and bank, kill -9 of each server at seeded moments, then a check of
 * every unit (src/soak/run.ts). Prints one JSON report; exits 1 on any difference, 2 on a usage mistake.
 */
import { randomInt } from 'node:crypto';
import type { Command } from 'commander';
import { runCommand, usage } from './usage.js';

interface SoakCliOptions {
  minutes: string;
  seed?: string;
  dialect: string;
  pgUrl?: string;
  workers: string;
  gateways: string;
  dir?: string;
  json?: boolean;
}

export function registerSoak(program: Command): void {
  program
    .command('soak')
    .description(
      'soak and chaos: traffic with faults and kills against real servers, then a check to the unit (JSON)',
    )
    .option('--minutes <n>', 'minutes of traffic (then the run settles and checks)', '10')
    .option('--seed <n>', 'seed of every random draw (default: a fresh one, printed in the report)')
    .option('--dialect <name>', 'sqlite or postgres', 'sqlite')
    .option(
      '--pg-url <url>',
      'postgres: a server URL where two fresh databases are made (postgres://user@host/postgres)',
    )
    .option('--workers <n>', 'traffic worker processes (3 LAN and 3 WAN wallets each)', '3')
    .option(
      '--gateways <n>',
      'gateway processes on the one database, behind a balancer (above 1: postgres)',
      '1',
    )
    .option('--dir <dir>', 'where data and logs go (default: a fresh temporary directory)')
    .option('--json', 'no progress lines: the JSON report alone, on one line')
    .action((o: SoakCliOptions) => runCommand('soak', () => soak(o)));
}

async function soak(o: SoakCliOptions): Promise<void> {
  const minutes = Number(o.minutes);
  if (!(minutes > 0 && minutes <= 24 * 60))
    usage(`--minutes must be a number above 0, at most 1440, got '${o.minutes}'`);
  const seed = o.seed === undefined ? randomInt(1, 2 ** 31) : Number(o.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) usage(`--seed must be a whole number, got '${o.seed}'`);
  if (o.dialect !== 'sqlite' && o.dialect !== 'postgres')
    usage(`--dialect: sqlite or postgres, got '${o.dialect}'`);
  const workers = Number(o.workers);
  if (!(Number.isInteger(workers) && workers >= 1 && workers <= 32))
    usage(`--workers must be 1 to 32, got '${o.workers}'`);
  const gateways = Number(o.gateways);
  if (!(Number.isInteger(gateways) && gateways >= 1 && gateways <= 8))
    usage(`--gateways must be 1 to 8, got '${o.gateways}'`);
  if (gateways > 1 && o.dialect !== 'postgres')
    usage('--gateways above 1 needs --dialect postgres (SQLite is one process)');
  const { runSoak } = await import('../soak/run.js');
  const say = o.json ? undefined : (line: string) => process.stderr.write(`soak: ${line}\n`);
  // PostgreSQL without --pg-url: a throwaway server of the installed binaries, as the bench uses.
  let pgUrl = o.pgUrl;
  let stopPostgres: (() => Promise<void>) | undefined;
  if (o.dialect === 'postgres' && pgUrl === undefined) {
    const { startThrowawayPostgres } = await import('../store/postgres/throwaway.js');
    const server = await startThrowawayPostgres({ durable: true });
    pgUrl = server.adminUrl;
    stopPostgres = server.stop;
    say?.(`PostgreSQL ${server.version} (throwaway, durable) on port ${server.port}`);
  }
  let report: Awaited<ReturnType<typeof runSoak>>;
  try {
    const databases =
      o.dialect === 'postgres' && pgUrl !== undefined
        ? await (await import('../soak/postgres.js')).freshDatabases(pgUrl, seed)
        : undefined;
    report = await runSoak({
      minutes,
      seed,
      dialect: o.dialect,
      workers,
      gateways,
      ...(databases ? { databases } : {}),
      ...(o.dir !== undefined ? { dir: o.dir } : {}),
      ...(say ? { say } : {}),
    });
  } finally {
    await stopPostgres?.();
  }
  process.stdout.write(`${o.json ? JSON.stringify(report) : JSON.stringify(report, null, 2)}\n`);
  for (const d of report.differences) process.stderr.write(`difference: ${d}\n`);
  if (!report.ok) process.exitCode = 1;
}
