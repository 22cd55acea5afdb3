/**
 * `lancash soak` (`npm run soak -- --minutes N`): hours of real traffic with faults, compressed.
 * A wide bank and a gateway run as their own processes (the CLI, as an operator runs them) with a
 * fault proxy between them that refuses, drops, delays or fails ~1 % of the gateway's bank calls
 * and inbox deliveries; traffic workers (their own processes, several wallets each) pay on both
 * networks and convert both ways; this process is the operator: it pays payroll (a bank deposit by
 * the CLI, then the gateway's operator API) and kills the gateway and the bank with SIGKILL at
 * seeded moments, restarting each on the same data and ports. Then the traffic stops, every
 * transfer is waited for, and `checkSoak` (check.ts) holds the result to the unit.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Network } from '../core/address/index.js';
import { fail } from '../core/errors.js';
import { formatMoney } from '../core/money-format.js';
import { getGatewayInfo, requestPayroll } from '../core/protocol/gateway.js';
import { openStore, type StoreConfig } from '../store/index.js';
import { startBalancer } from './balancer.js';
import { auditFacts, checkSoak, type JournalFacts, readJournal } from './check.js';
import { type FaultKind, type FaultRule, startFaultProxy } from './fault-proxy.js';
import {
  type FromWorker,
  OP_KINDS,
  type OpKind,
  type OpStats,
  type ToWorker,
  type WalletFinal,
} from './messages.js';
import { jsonOf, nodeArgsFor, PACKAGE_ROOT, runLancashCommand, ServerProcess } from './processes.js';
import { quantile, type Random, seeded } from './random.js';

export interface SoakOptions {
  minutes: number;
  seed: number;
  dialect: 'sqlite' | 'postgres';
  /** PostgreSQL: one database URL per role (bank, gateway), each fresh. */
  databases?: { bank: string; gateway: string };
  workers?: number;
  /** Gateway processes on the one database (PostgreSQL only beyond 1), behind a round-robin balancer. */
  gateways?: number;
  walletsPerWorker?: { lan: number; wan: number };
  /** Where data and logs go; default a fresh temporary directory. */
  dir?: string;
  /** Progress lines for people (stderr). */
  say?: (line: string) => void;
}

/** Share of the gateway's bank calls and deliveries each fault takes: four kinds, 1 % in all. */
const FAULT_RATE = 0.0025;
/** A delay past nothing: the answer comes, late; the gateway's own call timeout is 10 s. */
const DELAY_MS = 2500;
const CURRENCY = 'EUR';
const SETTLE_TIMEOUT_MS = 10 * 60_000;

export interface SoakReport {
  ok: boolean;
  seed: number;
  dialect: string;
  minutes: number;
  dir: string;
  seconds: { traffic: number; settle: number; total: number };
  processes: { workers: number; wallets: { lan: number; wan: number }; gateways: number; banks: number };
  operations: Record<string, Omit<OpStats, 'latencies'>>;
  conversionsPerSecond: number;
  latencyMs: Record<string, { p50: number; p99: number; max: number }>;
  faults: { requests: number; injected: number; byKind: Partial<Record<FaultKind, number>> };
  kills: { process: string; atSecond: number; downMs: number }[];
  money: {
    in: number;
    payroll: number;
    wallets: number;
    lanWallets: number;
    wanWallets: number;
    localOutstanding: number;
    wideOutstanding: number;
    reserve: number;
  };
  jobs: Record<string, number>;
  audit: { balanced: boolean; differences: string[] };
  /** Each server's exit code on the final SIGTERM (0: drained cleanly). */
  exitCodes: Record<string, number | null>;
  /** Last errors the workers saw (a peer down during a kill, …): expected, for reading. */
  sampleErrors: string[];
  differences: string[];
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const say = o.say ?? (() => {});
  const started = performance.now();
  const random = seeded(o.seed);
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'lancash-soak-'));
  const mk = (...p: string[]) => {
    const d = join(dir, ...p);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  };
  const [bankDir, gwDir, walletDir, logDir] = [mk('wide-bank'), mk('gateway'), mk('wallets'), mk('logs')];
  const dbArgs = (role: 'bank' | 'gateway') =>
    o.dialect === 'postgres'
      ? [
          '--db',
          o.databases?.[role] ??
            fail('InvalidInput', { argument: '--pg-url', expected: 'a URL', received: '' }),
        ]
      : ['--data', role === 'bank' ? bankDir : gwDir];
  const storeOf = (role: 'bank' | 'gateway'): StoreConfig =>
    o.dialect === 'postgres'
      ? { dialect: 'postgres', url: o.databases![role] }
      : {
          dialect: 'sqlite',
          file: role === 'bank' ? join(bankDir, 'wide-bank.db') : join(gwDir, 'gateway.db'),
        };
  const auditArg = (role: 'bank' | 'gateway') => {
    const c = storeOf(role);
    return c.dialect === 'postgres' ? c.url : c.file;
  };

  const workerCount = o.workers ?? 3;
  const perWorker = o.walletsPerWorker ?? { lan: 3, wan: 3 };
  // Not from the seed: the operator API answers on loopback for the run, to this process alone.
  const operatorToken = randomBytes(24).toString('hex');
  const bank = new ServerProcess(
    'wide-bank',
    [
      'wide-bank',
      '--lightning',
      'fake',
      '--listen',
      '127.0.0.1:0',
      ...dbArgs('bank'),
      '--mailbox-trusted',
      '127.0.0.1',
    ],
    1,
    join(logDir, 'wide-bank.log'),
  );
  await bank.start();
  say(`wide bank at ${bank.urls[0]} (pid ${bank.pid})`);
  const proxyRandom = random.fork();
  const proxy = await startFaultProxy(bank.urls[0]!, { random: () => proxyRandom.next() });
  const faulty = (path: string, method?: string): FaultRule[] =>
    (['refuse', 'drop', 'delay', '502'] as const).map((fault) => ({
      path,
      ...(method ? { method } : {}),
      fault,
      rate: FAULT_RATE / (1 - FAULT_RATE * ['refuse', 'drop', 'delay', '502'].indexOf(fault)),
      times: Number.POSITIVE_INFINITY,
      ...(fault === 'delay' ? { ms: DELAY_MS } : {}),
    }));
  proxy.plan([...faulty('/v1/bank/*'), ...faulty('/v1/inbox/*', 'POST')]);
  const gatewayCount = o.gateways ?? 1;
  if (gatewayCount > 1 && o.dialect !== 'postgres') {
    fail('InvalidInput', {
      argument: 'gateways',
      expected: 'postgres for more than one',
      received: o.dialect,
    });
  }
  // Several processes are one gateway behind a balancer, whose LAN URL every process names.
  const balancers = gatewayCount > 1 ? { lan: await startBalancer(), wan: await startBalancer() } : undefined;
  const gateways = Array.from(
    { length: gatewayCount },
    (_, i) =>
      new ServerProcess(
        gatewayCount > 1 ? `gateway-${i}` : 'gateway',
        [
          'gateway',
          '--lan',
          '127.0.0.1:0',
          '--wan',
          '127.0.0.1:0',
          '--wide-bank',
          proxy.url,
          ...dbArgs('gateway'),
          '--retry-cap-ms',
          '5000',
          ...(balancers ? ['--lan-url', balancers.lan.url] : []),
        ],
        2,
        join(logDir, `${gatewayCount > 1 ? `gateway-${i}` : 'gateway'}.log`),
        { LANCASH_OPERATOR_TOKEN: operatorToken },
      ),
  );
  for (const g of gateways) await g.start();
  balancers?.lan.setUpstreams(gateways.map((g) => g.urls[0]!));
  balancers?.wan.setUpstreams(gateways.map((g) => g.urls[1]!));
  const lan = balancers?.lan.url ?? gateways[0]!.urls[0]!;
  const wan = balancers?.wan.url ?? gateways[0]!.urls[1]!;
  say(
    `${gatewayCount} gateway process(es): LAN ${lan}, WAN ${wan} (pid ${gateways.map((g) => g.pid).join(', ')}); the bank behind the fault proxy ${proxy.url}`,
  );
  const gatewayKey = (await getGatewayInfo(lan)).encryptionKey;
  const gwStore = await openStore(storeOf('gateway'));

  const workers: Worker[] = [];
  const kills: SoakReport['kills'] = [];
  const payrollStats: OpStats = { ok: 0, failed: 0, open: 0, errors: 0, latencies: [] };
  let payrollAccepted = 0;
  let trafficSeconds = 0;
  let settleStarted = 0;
  const exitCodes: SoakReport['exitCodes'] = {};
  let journal: JournalFacts | undefined;
  let reports: Extract<FromWorker, { type: 'report' }>[] = [];
  let unsettled = 0;
  try {
    for (let i = 0; i < workerCount; i++) workers.push(startWorker(i, join(logDir, `worker-${i}.log`)));
    const ready = await Promise.all(
      workers.map((w, index) => {
        w.post({
          type: 'init',
          index,
          dir: walletDir,
          seed: random.int(1, 2 ** 31),
          wallets: perWorker,
          lan: { mint: lan, gateway: lan, mailbox: lan },
          wan: { mint: proxy.url, gateway: wan, mailbox: proxy.url },
          amount: { min: 1, max: 20_00 },
          mintAmount: 200_00,
          followMs: 20_000,
        });
        return w.next('ready');
      }),
    );
    const payroll = async (ref: string, amount: number, to: string) => {
      const t0 = performance.now();
      try {
        await payrollOnce({ ref, amount, to, lan, gatewayKey, operatorToken, bankDb: dbArgs('bank') });
        payrollStats.ok += 1;
        payrollAccepted += amount;
        payrollStats.latencies.push(Math.round(performance.now() - t0));
      } catch (e) {
        payrollStats.errors += 1;
        say(`payroll ${ref}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    const addresses = ready.flatMap((r) => r.addresses);
    const lanAddresses = addresses.filter((a) => a.network === 'lan').map((a) => a.address);
    // Every LAN wallet starts with a payroll, as WAN wallets start with a purchase: conversions
    // both ways from the first second.
    const opening = random.fork();
    for (let i = 0; i < lanAddresses.length; i += 3) {
      await Promise.all(
        lanAddresses
          .slice(i, i + 3)
          .map((to, j) => payroll(`soak-${o.seed}-opening-${i + j}`, opening.int(20_00, 100_00), to)),
      );
    }
    say(`${workers.length} workers, ${addresses.length} wallets; traffic for ${o.minutes} min`);
    for (const w of workers) w.post({ type: 'go', addresses });

    const trafficMs = o.minutes * 60_000;
    const trafficFrom = performance.now();
    const deadline = trafficFrom + trafficMs;
    const chaos = runChaos(
      random.fork(),
      trafficMs,
      trafficFrom,
      { gateway: gateways, 'wide-bank': [bank] },
      kills,
      say,
    );
    const payrolls = (async () => {
      const pr = random.fork();
      for (let i = 0; performance.now() < deadline; i++) {
        await sleep(pr.int(1000, 5000));
        if (performance.now() >= deadline) break;
        const amount = pr.int(5_00, 50_00);
        const ref = `soak-${o.seed}-payroll-${i}`;
        await payroll(ref, amount, pr.pick(lanAddresses));
      }
    })();
    await Promise.all([chaos, payrolls, sleep(Math.max(0, deadline - performance.now()))]);
    trafficSeconds = (performance.now() - trafficFrom) / 1000;
    settleStarted = performance.now();
    say('traffic stopped; settling every open operation');
    for (const w of workers) w.post({ type: 'stop' });
    unsettled = (await Promise.all(workers.map((w) => w.next('settled', SETTLE_TIMEOUT_MS)))).reduce(
      (n, s) => n + s.open,
      0,
    );
    journal = await waitForJournal(gwStore.db, SETTLE_TIMEOUT_MS);
    say(`gateway journal: ${journal.active.length} job(s) still active; draining every inbox`);
    for (const w of workers) w.post({ type: 'final' });
    reports = await Promise.all(workers.map((w) => w.next('report', SETTLE_TIMEOUT_MS)));
    journal = await readJournal(gwStore.db);
  } finally {
    await Promise.all(workers.map((w) => w.end()));
    await gwStore.close();
    for (const g of gateways) exitCodes[g.name] = await g.stop();
    exitCodes['wide-bank'] = await bank.stop();
    await proxy.close();
    await balancers?.lan.close();
    await balancers?.wan.close();
  }
  const audit = await runLancashCommand(
    ['audit', '--wide-bank-db', auditArg('bank'), '--gateway-db', auditArg('gateway')],
    5 * 60_000,
  );
  const facts = auditFacts(jsonOf('lancash audit', audit));
  const wallets: WalletFinal[] = reports.flatMap((r) => r.wallets);
  const differences = checkSoak({
    wallets,
    journal: journal!,
    audit: facts,
    payroll: payrollAccepted,
    unsettled,
  });
  for (const [name, code] of Object.entries(exitCodes)) {
    if (code !== 0) differences.push(`${name} exited ${code} on SIGTERM (expected a clean drain, 0)`);
  }

  const ops: Partial<Record<OpKind | 'payroll', OpStats>> = { payroll: payrollStats };
  for (const r of reports) {
    for (const kind of OP_KINDS) {
      const s = r.ops[kind];
      if (s === undefined) continue;
      const into = ops[kind] ?? { ok: 0, failed: 0, open: 0, errors: 0, latencies: [] };
      ops[kind] = into;
      into.ok += s.ok;
      into.failed += s.failed;
      into.open += s.open;
      into.errors += s.errors;
      into.latencies.push(...s.latencies);
    }
  }
  const operations: SoakReport['operations'] = {};
  const latencyMs: SoakReport['latencyMs'] = {};
  for (const [kind, s] of Object.entries(ops)) {
    const sorted = [...s.latencies].sort((a, b) => a - b);
    operations[kind] = { ok: s.ok, failed: s.failed, open: s.open, errors: s.errors };
    latencyMs[kind] = { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? 0 };
  }
  const conversions = (ops['lan-to-wan']?.ok ?? 0) + (ops['wan-to-lan']?.ok ?? 0);
  const stats = proxy.stats();
  const injected = stats.faults.refuse + stats.faults.drop + stats.faults.delay + stats.faults['502'];
  const sum = (n?: Network) =>
    wallets.filter((w) => n === undefined || w.network === n).reduce((a, w) => a + w.available, 0);
  return {
    ok: differences.length === 0,
    seed: o.seed,
    dialect: o.dialect,
    minutes: o.minutes,
    dir,
    seconds: {
      traffic: round1(trafficSeconds),
      settle: round1((performance.now() - settleStarted) / 1000),
      total: round1((performance.now() - started) / 1000),
    },
    processes: {
      workers: workers.length,
      wallets: { lan: perWorker.lan * workers.length, wan: perWorker.wan * workers.length },
      gateways: gatewayCount,
      banks: 1,
    },
    operations,
    conversionsPerSecond: round1(conversions / Math.max(1, trafficSeconds)),
    latencyMs,
    faults: {
      requests: stats.received,
      injected,
      byKind: {
        refuse: stats.faults.refuse,
        drop: stats.faults.drop,
        delay: stats.faults.delay,
        '502': stats.faults['502'],
      },
    },
    kills,
    money: {
      in: facts.moneyIn,
      payroll: payrollAccepted,
      wallets: sum(),
      lanWallets: sum('lan'),
      wanWallets: sum('wan'),
      localOutstanding: facts.localOutstanding,
      wideOutstanding: facts.wideOutstanding,
      reserve: facts.reserve,
    },
    jobs: journal?.byState ?? {},
    audit: { balanced: facts.balanced, differences: facts.differences },
    exitCodes,
    sampleErrors: reports.flatMap((r) => r.lastErrors).slice(-10),
    differences,
  };
}

/**
 * Kills each server with SIGKILL at seeded moments inside the traffic window (about one kill of
 * each per two minutes, at least one of each), restarting it after a short seeded pause.
 */
async function runChaos(
  random: Random,
  trafficMs: number,
  from: number,
  servers: Record<string, ServerProcess[]>,
  kills: SoakReport['kills'],
  say: (line: string) => void,
): Promise<void> {
  const each = Math.max(1, Math.round(trafficMs / 120_000));
  const plan = Object.keys(servers)
    .flatMap((name) =>
      Array.from({ length: each }, () => ({ name, at: random.int(0.1 * trafficMs, 0.85 * trafficMs) })),
    )
    .sort((a, b) => a.at - b.at);
  for (const k of plan) {
    await sleep(Math.max(0, from + k.at - performance.now()));
    // One of that kind's processes (of several gateways, any one).
    const server = random.pick(servers[k.name]!);
    const t0 = performance.now();
    await server.kill9();
    await sleep(random.int(200, 2000));
    await restart(server);
    const downMs = Math.round(performance.now() - t0);
    kills.push({ process: server.name, atSecond: round1(k.at / 1000), downMs });
    say(`kill -9 ${server.name} at ${round1(k.at / 1000)} s; back after ${downMs} ms (pid ${server.pid})`);
  }
}

/** Starts `server` again, as a supervisor would: three tries, 2 s apart, then the soak fails. */
async function restart(server: ServerProcess): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await server.start();
    } catch (e) {
      if (attempt >= 3) {
        fail('Internal', {
          reason: `soak: ${server.name} did not restart: ${e instanceof Error ? e.message : String(e)}`,
        });
      }
      await sleep(2000);
    }
  }
}

/** One payroll: the bank's operator deposits (the CLI, on the database), the gateway's operator asks. */
async function payrollOnce(p: {
  ref: string;
  amount: number;
  to: string;
  lan: string;
  gatewayKey: string;
  operatorToken: string;
  bankDb: string[];
}): Promise<void> {
  const deposit = await runLancashCommand([
    'wide-bank',
    ...p.bankDb,
    'account',
    'deposit',
    '--account',
    p.gatewayKey,
    '--amount',
    formatMoney(p.amount, CURRENCY),
    '--ref',
    p.ref,
  ]);
  if (deposit.code !== 0)
    fail('Internal', { reason: `deposit ${p.ref} exited ${deposit.code}: ${deposit.stderr.slice(-500)}` });
  // The gateway may be down (a kill): the same ref is the same payroll, so ask until it answers.
  for (let attempt = 0; ; attempt++) {
    try {
      await requestPayroll({
        base: p.lan,
        operatorToken: p.operatorToken,
        request: { ref: p.ref, amount: p.amount, to: p.to },
      });
      return;
    } catch (e) {
      if (attempt >= 60) throw e;
      await sleep(1000);
    }
  }
}

/** Polls the gateway's journal until no job is active (or `timeoutMs` passes); the last read. */
async function waitForJournal(
  db: Parameters<typeof readJournal>[0],
  timeoutMs: number,
): Promise<JournalFacts> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const j = await readJournal(db);
    if (j.active.length === 0 || performance.now() > deadline) return j;
    await sleep(500);
  }
}

interface Worker {
  post(m: ToWorker): void;
  next<T extends FromWorker['type']>(type: T, timeoutMs?: number): Promise<Extract<FromWorker, { type: T }>>;
  end(): Promise<void>;
}

/** A traffic worker process (worker.ts), its output into `log`. */
function startWorker(index: number, log: string): Worker {
  const args = nodeArgsFor('soak/worker');
  const fd = openSync(log, 'a');
  const child: ChildProcess = fork(args.at(-1)!, [], {
    cwd: PACKAGE_ROOT,
    execArgv: args.slice(0, -1),
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  const inbox: FromWorker[] = [];
  const waiting: ((m: FromWorker) => void)[] = [];
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void gone.then(() => {
    exited = true;
    for (const w of waiting.splice(0)) w({ type: 'failed', error: `worker ${index} exited (see ${log})` });
  });
  child.on('message', (m: FromWorker) => {
    const w = waiting.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  async function next<T extends FromWorker['type']>(
    type: T,
    timeoutMs = 120_000,
  ): Promise<Extract<FromWorker, { type: T }>> {
    const m =
      inbox.shift() ??
      (exited
        ? ({ type: 'failed', error: `worker ${index} exited (see ${log})` } as const)
        : await new Promise<FromWorker>((resolve) => {
            const timer = setTimeout(
              () => resolve({ type: 'failed', error: `worker ${index}: no ${type} within ${timeoutMs} ms` }),
              timeoutMs,
            );
            waiting.push((got) => {
              clearTimeout(timer);
              resolve(got);
            });
          }));
    if (m.type === 'failed') fail('Internal', { reason: `soak worker ${index}: ${m.error}` });
    if (m.type !== type) fail('Internal', { reason: `soak worker ${index}: ${m.type} instead of ${type}` });
    return m as Extract<FromWorker, { type: T }>;
  }
  return {
    post: (m) => child.send(m),
    next,
    end: async () => {
      if (!exited) {
        const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
        if (child.connected) child.disconnect();
        await gone;
        clearTimeout(force);
      }
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;
