/**
 * `bench gateway`: conversions/s, latency and CPU time per conversion of job 1 (LAN → WAN) and job 2
 * (WAN → LAN), both at once, on each dialect, against the in-run bound: the unavoidable crypto of the
 * same conversions (`conversion-crypto.ts`) on all cores with no I/O, measured just before and after.
 *
 * Traffic: amounts drawn log-uniformly from 1 to 10⁴ minor units (1 to 14 notes; `traffic.ts`), the
 * load driven from a separate process over HTTP (`gateway-driver.ts`: undici, several conversions in
 * flight per direction), paying a dozen terminals per direction that take each payment from their
 * inbox's live `arrived` event and drain to ack them in batches. The wide bank runs in this process beside the gateway (so `--cpu-prof` on it
 * profiles them both), or with `--bank-process` in its own, as deployed (`bank-side.ts`); each has its
 * own listeners and database.
 *
 * Two loops per dialect: closed (`IN_FLIGHT` conversions per direction, the next posted when one ends:
 * the most the servers do), then open at half the closed loop's throughput (or `--rate N` a second per
 * direction): Poisson arrivals from the driver whatever the servers do, so queueing shows in the
 * latency as for real terminals (the issue's "p99 under 100 ms at half that load").
 *
 * Everything a terminal does is prepared before the clock starts: job 2's wide notes come from the
 * issue server (a funded holder account), job 1's local notes from the local mint against a deposit
 * into the reserve (the operator's payroll), and every request is sealed to the gateway in advance.
 * Conversions run for a warm-up (`--warmup`) before the clock starts, and only those drained inside
 * the timed window count. CPU time per conversion (main thread, crypto workers, other threads, the
 * database servers, the bank's own process; the driver apart) is read from /proc over the window:
 * unlike conversions per second it barely moves when other programs load the machine, and its ratio
 * to the bound is the figure.
 *
 * `--rows N` first fills the books (`books.ts`): N spent notes at each mint and N finished jobs in the
 * journal, written by bulk SQL, so the same figures show whether cost stays flat as the books grow.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import {
  type EventLoopUtilization,
  type IntervalHistogram,
  monitorEventLoopDelay,
  performance,
} from 'node:perf_hooks';
import { encodeAddress, type Network } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { defaultCurve } from '../core/crypto/index.js';
import { type Envelope, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { fail } from '../core/errors.js';
import { fetchTransport, isUnclear, setHttpTransport } from '../core/http/client.js';
import { undiciTransport } from '../core/http/node-transport.js';
import { type Amount, splitAmount, sum } from '../core/money.js';
import { bankPeer, requestIssue } from '../core/protocol/bank.js';
import type { Proof } from '../core/protocol/cashu.js';
import { type Direction, JOB1_REQUEST, JOB2_REQUEST } from '../core/protocol/gateway.js';
import type { Rate } from '../core/rate-limit.js';
import { traceClock } from '../core/step-trace.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import { blindedMessages, type KeysetKeys, makeOutputs, unblindChecked } from '../gateway/wallet.js';
import { createCryptoPool } from '../mint/crypto-pool.js';
import type { Store } from '../store/index.js';
import { latencySummary, quantile } from './arrivals.js';
import { type BankSide, forkBank, forkModule, openBank } from './bank-side.js';
import { fillBooks } from './books.js';
import { type CpuPerNote, type CpuSample, cpuPerNote, sampleCpu } from './cpu.js';
import type { DriverMessage, DriverStart, DriverTerminal, DriverWork } from './gateway-driver.js';
import { round } from './harness.js';
import { MACHINE_SAMPLE_MS, type MachineRecorder, recordMachine } from './machine.js';
import { conversionBoundAllCores } from './parallel.js';
import { type StatementProbe, StatsWindow } from './pg-stats.js';
import { recordWaits, WAIT_SAMPLE_MS } from './pg-waits.js';
import type { ScenarioOptions } from './scenario.js';
import { recordSteps, type StepRecorder } from './step-gaps.js';
import { type Activity, openBenchStore } from './stores.js';
import { drawAmounts, MAX_AMOUNT, notesOf } from './traffic.js';
import { wakeCost } from './wake.js';

/** Conversions in flight per direction (the driver's closed loop). */
const IN_FLIGHT = 8;
/** Destination terminals per direction (each holds one live stream: under the servers' per-client bound). */
const TERMINALS = 12;
/**
 * Conversions prepared per direction and second; the run stops early (and says so) if they run out.
 * 120 ran out in a fast phase of the 2-core VM (134 job-2 conversions a second on SQLite, round
 * nineteen); 180 leaves a third to spare at ≈ 1 s more preparation.
 */
const PREPARED_PER_SECOND = 180;
/** The open loop's conversions prepared beyond its rate's mean (a Poisson count's spread is its root). */
const OPEN_MARGIN = 1.25;
/** Most outputs one issue request or one signing batch may carry (the mint's default limit). */
const MAX_OUTPUTS = 1000;
/** Asks of one prepared issue request at most. */
const ISSUE_TRIES = 5;
/** The event-loop delay monitor's timer, ms: a stall shorter than this may go unseen. */
const LOOP_DELAY_RESOLUTION_MS = 5;
/**
 * The job-2 intake's bank-call buckets (`jobs/intake-limits.ts`), lifted: they keep a stranger's
 * intakes from spending the gateway's share of the wide bank's rate limit (100 calls a second a WAN
 * client, 300 in all), and the driver is every terminal of the bench from one address while the
 * bench's bank has no rate limit (`rateLimit: false`, as the gateway's HTTP one). With them, a machine
 * that converts more than 100 job-2 intakes a second refused the driver's (`RateLimited`) and the run
 * ended. The notes-in-intake bounds stay (the driver never has more than 8 requests in flight).
 */
const BENCH_BANK_CALLS: Rate = { burst: Number.MAX_SAFE_INTEGER, perSecond: Number.MAX_SAFE_INTEGER };

/** Where the wide bank runs unless `--bank-process` or `--no-bank-process` says. */
const BANK_PROCESS_DEFAULT = false;

/**
 * Untimed seconds of conversions before each window. V8 compiles a function once enough of its own
 * code has run, i.e. after enough conversions: with one second (≈ 100 conversions) part of the
 * compiling fell inside the window, and "other threads" read 2.5–3.0 ms a conversion on a quiet
 * machine against 1.2–1.3 after ten seconds, the ratio 2.2–2.3 against 1.8–1.9 (round eleven,
 * docs/performance.md). A gateway in service runs warm; the figure is its steady state.
 */
const GATEWAY_WARMUP_SECONDS = 10;

type Bound = Awaited<ReturnType<typeof conversionBoundAllCores>>;

export async function gatewayScenario(o: ScenarioOptions): Promise<unknown> {
  const warmup = o.warmupSeconds ?? GATEWAY_WARMUP_SECONDS;
  const bankProcess = o.bankProcess ?? BANK_PROCESS_DEFAULT;
  const count = Math.ceil((o.seconds + warmup) * PREPARED_PER_SECOND);
  // One draw per direction and conversion; the bound runs the same amounts.
  const amounts = drawAmounts(2 * count);
  const wakes = [await wakeCost()];
  const first = await conversionBoundAllCores(o.seconds, amounts);
  const bounds: Bound[] = [first];
  const results: Record<string, unknown> = {};
  // HTTP calls as `lancash gateway` makes them: on undici's request rather than fetch.
  setHttpTransport(undiciTransport);
  try {
    for (const dialect of o.dialects) {
      const r = await conversions(dialect, {
        seconds: o.seconds,
        warmup,
        amounts,
        rows: o.rows ?? 0,
        rate: o.rate ?? 'half',
        bankProcess,
        traceSteps: o.traceSteps ?? false,
        pgStats: o.pgStats ?? false,
      });
      const before = bounds[bounds.length - 1]!;
      const after = await conversionBoundAllCores(o.seconds, amounts);
      bounds.push(after);
      const boundCpu = (before.cpuUsPerConversion + after.cpuUsPerConversion) / 2;
      // CPU per conversion over the bound's: what the gateway costs beyond its own crypto, whatever the load.
      const ratio = (cpu: CpuPerNote | undefined) =>
        cpu ? { cpuRatioToBound: round(cpu.total / boundCpu, 2) } : {};
      results[dialect] = {
        ...r.closed,
        boundCpuUsPerConversion: Math.round(boundCpu),
        ...ratio(r.closed.cpuUsPerConversion),
        ...(r.open ? { openLoop: { ...r.open, ...ratio(r.open.cpuUsPerConversion) } } : {}),
      };
    }
  } finally {
    setHttpTransport(fetchTransport);
  }
  wakes.push(await wakeCost());
  return {
    scenario: 'gateway',
    cores: first.cores,
    amounts: {
      from: 1,
      to: MAX_AMOUNT,
      draw: 'log-uniform',
      meanNotesPerConversion: round(first.notesPerConversion, 2),
    },
    inFlightPerDirection: IN_FLIGHT,
    terminalsPerDirection: TERMINALS,
    rows: o.rows ?? 0,
    bank: bankProcess
      ? 'its own process (its CPU counted in the total, as cpuUsPerConversion.bank)'
      : 'in the bench process, beside the gateway (one event loop)',
    openLoopRate:
      o.rate === 'none'
        ? 'not run'
        : `Poisson arrivals at ${typeof o.rate === 'number' ? `${o.rate}/s` : 'half the closed loop’s conversions/s'} per direction, after the closed loop, on the same servers`,
    bound: {
      what: 'the unavoidable crypto of one conversion (envelopes, curve and receipt operations; conversion-crypto.ts), all cores, no I/O',
      conversionsPerSec: bounds.map((b) => Math.round(b.conversionsPerSec)),
      cpuUsPerConversion: bounds.map((b) => b.cpuUsPerConversion),
    },
    wake: {
      what: `one message to a worker thread and back, hot and after both slept ${wakes[0]!.idleMs} ms, before the first run and after the last (wake.ts): what this machine charges for idling, which the open loop's CPU a conversion pays and the closed loop's barely`,
      runs: wakes,
    },
    ...results,
  };
}

interface Prepared {
  work: DriverWork[];
  terminals: Record<Direction, DriverTerminal[]>;
}

/** What one dialect's runs share: the servers, up and warm after the first run. */
interface Servers {
  bank: BankSide;
  gw: Gateway;
  gwStore: Store;
  urls: { lan: string; wan: string };
  workers: number;
  seconds: number;
  warmup: number;
  /** Record each conversion's step marks (`step-gaps.ts`). */
  traceSteps: boolean;
  /** The databases whose statements are counted over the window (`--pg-stats`, PostgreSQL). */
  statements: { db: 'gateway' | 'bank'; probe: StatementProbe }[];
  /** PostgreSQL: the databases whose processes `traceSteps` samples (`pg-waits.ts`). */
  activity: { db: 'gateway' | 'bank'; at: Activity }[];
}

async function conversions(
  dialect: string,
  o: {
    seconds: number;
    warmup: number;
    amounts: readonly Amount[];
    rows: number;
    rate: number | 'half' | 'none';
    bankProcess: boolean;
    traceSteps: boolean;
    pgStats: boolean;
  },
) {
  const gwDb = await openBenchStore(dialect, { pgStats: o.pgStats });
  const workers = availableParallelism();
  const pool = createCryptoPool({ size: workers });
  const curve = defaultCurve();
  let bank: BankSide | undefined;
  let gw: Gateway | undefined;
  try {
    bank = o.bankProcess
      ? await forkBank(dialect, { pgStats: o.pgStats })
      : await openBank(dialect, pool, { curve, pgStats: o.pgStats });
    gw = await createGateway({
      store: gwDb.store,
      currency: 'EUR',
      wideBank: bank.url,
      crypto: pool,
      curve,
      logger: false,
      rateLimit: false,
      intakeLimits: { bankCallsPerClient: BENCH_BANK_CALLS, bankCallsTotal: BENCH_BANK_CALLS },
      // Full books are not backed by bank requests: the request-log check waits beyond the run.
      ...(o.rows > 0 ? { reconcileEveryMs: 86_400_000 } : {}),
    });
    const books =
      o.rows > 0
        ? await fillBooks({
            bank: bank.fillBooks,
            gateway: gwDb.store,
            keyset: gw.mint.keysets.current().id,
            rows: o.rows,
          })
        : undefined;
    const urls = await gw.listen('127.0.0.1:0', '127.0.0.1:0');
    await gw.start();
    const servers: Servers = {
      bank,
      gw,
      gwStore: gwDb.store,
      urls,
      workers,
      seconds: o.seconds,
      warmup: o.warmup,
      traceSteps: o.traceSteps,
      statements: [
        ...(gwDb.statements ? [{ db: 'gateway' as const, probe: gwDb.statements }] : []),
        ...(bank.statements ? [{ db: 'bank' as const, probe: bank.statements }] : []),
      ],
      activity: [
        ...(gwDb.activity ? [{ db: 'gateway' as const, at: gwDb.activity }] : []),
        ...(bank.activity ? [{ db: 'bank' as const, at: bank.activity }] : []),
      ],
    };
    const closed = await measure(servers, await prepare(bank, gw, o.amounts), {});
    const rate = o.rate === 'half' ? closed.conversionsPerSec / 4 : o.rate;
    let open: Awaited<ReturnType<typeof measure>> | undefined;
    if (rate !== 'none' && rate > 0) {
      const perDirection = Math.ceil((o.seconds + o.warmup) * rate * OPEN_MARGIN) + 20;
      open = await measure(servers, await prepare(bank, gw, drawAmounts(2 * perDirection)), {
        rate: round(rate, 1),
      });
    }
    return {
      closed: {
        server: bank.description,
        ...(books ? { books } : {}),
        warmupSeconds: o.warmup,
        ...closed,
      },
      open,
    };
  } finally {
    await gw?.close();
    await Promise.all([gw?.lan.close(), gw?.wan.close()]);
    await bank?.close();
    await pool.close();
    await gwDb.close();
  }
}

/**
 * One timed run of the driver over `prepared` on `s`'s servers: the closed loop, or the open one at
 * `rate` conversions a second per direction. Conversions/s and CPU count those drained inside the
 * window; the open loop's latencies are those of the conversions posted inside it.
 */
async function measure(s: Servers, prepared: Prepared, loop: { rate?: number }) {
  const driver = forkModule('gateway-driver');
  // How late the bench process's event loop (the gateway's, and the bank's in this process) ran its
  // timers over the window: what a stall of that loop adds to every conversion waiting on it.
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  let steps: StepRecorder | undefined = s.traceSteps ? recordSteps() : undefined;
  let statements: StatsWindow | undefined;
  const waits = s.traceSteps
    ? await Promise.all(
        s.activity.map(async (a) => ({
          db: a.db,
          recorder: await recordWaits(a.at.adminUrl, a.at.database),
        })),
      )
    : [];
  let machine: MachineRecorder | undefined = s.traceSteps ? recordMachine() : undefined;
  // The window's edges on the marks' clock (the waits' figures over the whole window).
  const edges: Partial<Record<'open' | 'close', number>> = {};
  try {
    const d = driver;
    const apart = d.pid === undefined ? [] : [d.pid];
    const own = s.bank.pid === undefined ? undefined : [s.bank.pid];
    const samples: Partial<Record<'open' | 'close', CpuSample | undefined>> = {};
    // The window on the monotonic clock in µs, as a `--cpu-prof` profile's timestamps count.
    const window: Partial<Record<'open' | 'close', number>> = {};
    // The share of the window the bench process's event loop was not waiting for I/O (running code,
    // or preempted while it ran): how busy the thread is that every hop of a conversion waits on.
    const utilisation: Partial<Record<'open' | 'close', EventLoopUtilization>> = {};
    const result = await new Promise<Extract<DriverMessage, { kind: 'result' }>>((resolve, reject) => {
      d.on('message', (m: DriverMessage) => {
        if (m.kind === 'ready') {
          const start: DriverStart = {
            kind: 'start',
            urls: s.urls,
            mailboxes: { 'lan-to-wan': s.bank.url, 'wan-to-lan': s.urls.lan },
            terminals: prepared.terminals,
            work: prepared.work,
            seconds: s.seconds,
            warmupSeconds: s.warmup,
            inFlight: IN_FLIGHT,
            ...(loop.rate !== undefined ? { rate: loop.rate } : {}),
          };
          d.send(start);
        } else if (m.kind === 'edge') {
          if (m.edge === 'open') loopDelay.enable();
          else loopDelay.disable();
          samples[m.edge] = sampleCpu(apart, own);
          if (s.statements.length > 0) {
            if (m.edge === 'open') statements = new StatsWindow(s.statements.map((d) => d.probe));
            else statements?.close();
          }
          window[m.edge] = Number(process.hrtime.bigint() / 1000n);
          utilisation[m.edge] = performance.eventLoopUtilization();
          edges[m.edge] = traceClock();
        } else if (m.kind === 'result') resolve(m);
        else reject(new Error(`bench driver: ${m.message}`));
      });
      d.once('exit', (code) => reject(new Error(`bench driver exited (${code}) without a result`)));
    });
    const { finished, open } = result;
    const elapsed = result.seconds;
    // The open loop's slowest are ranked among the conversions its latencies describe.
    const trace = steps?.stop(finished, open?.conversions);
    steps = undefined;
    const waitsIn = await Promise.all(
      waits.splice(0).map(async (w) => ({ db: w.db, between: await w.recorder.stop() })),
    );
    const machineBetween = machine?.stop();
    machine = undefined;
    /** Each database's waits between two times (trace clock), by database. */
    const waitsBetween = (from: number, to: number) =>
      Object.fromEntries(waitsIn.map((w) => [w.db, w.between(from, to)]));
    const stages = await stageTimes(s.gwStore, finished);
    const pgStats = await statements?.figures(finished.length, 'conversion');
    const cpuUs = cpuPerNote(samples.open, samples.close, finished.length, s.workers);
    const driverUs =
      samples.open && samples.close && finished.length > 0
        ? Math.round(((samples.close.apart - samples.open.apart) * 1000) / finished.length)
        : undefined;
    const per = (direction: Direction) => {
      const mine = finished.filter((f) => f.direction === direction);
      return {
        ...(open ? { offeredPerSec: round(open.posted[direction] / elapsed, 1) } : {}),
        conversionsPerSec: round(mine.length / elapsed, 1),
        notesPerSec: round(sum(mine.map((f) => f.notes)) / elapsed, 1),
        conversions: mine.length,
        // Closed loop: the conversions drained inside the window; open: those posted inside it.
        latencyMs: latencySummary(
          open ? open.latencies[direction] : mine.map((f) => f.drainedAt - f.postedAt),
        ),
        ...(open && open.undrained[direction] > 0 ? { undrainedAfter30s: open.undrained[direction] } : {}),
        stagesMsP50: stages[direction],
        ...(trace
          ? {
              stepGapsMs: trace.gapsMs[direction],
              stepAtMs: trace.atMs[direction],
              slowest: trace.slowest[direction].map((c) => {
                const from = trace.originMs + c.postedAtS * 1000;
                const m = machineBetween?.(from, from + c.totalMs);
                return {
                  ...c,
                  ...(m ? { machine: m } : {}),
                  ...(waitsIn.length > 0 ? { pgWaits: waitsBetween(from, from + c.totalMs) } : {}),
                };
              }),
            }
          : {}),
      };
    };
    return {
      ...(open
        ? {
            what: 'open loop: Poisson arrivals at a fixed rate per direction, whatever the servers do; latency of the conversions posted inside the window',
            offeredPerSecPerDirection: loop.rate,
            driverLateMs: open.lateMs,
          }
        : {}),
      seconds: round(elapsed, 2),
      ...(result.ranOut ? { note: `prepared conversions ran out before ${s.seconds} s` } : {}),
      ...(finished.length === 0 ? { note: 'no conversion was drained inside the timed window' } : {}),
      conversionsPerSec: round(finished.length / elapsed, 1),
      meanNotesPerConversion: round(sum(finished.map((f) => f.notes)) / Math.max(1, finished.length), 2),
      ...(cpuUs ? { cpuUsPerConversion: cpuUs } : {}),
      ...(driverUs !== undefined ? { driverCpuUsPerConversion: driverUs } : {}),
      ...(pgStats
        ? {
            pgStats: Array.isArray(pgStats)
              ? Object.fromEntries(s.statements.map((d, i) => [d.db, pgStats[i]]))
              : pgStats,
          }
        : {}),
      drainsPerConversion: round(result.drains / Math.max(1, finished.length), 2),
      eventLoopDelayMs: lateness(loopDelay),
      ...(utilisation.open && utilisation.close
        ? {
            eventLoopUtilization: round(
              performance.eventLoopUtilization(utilisation.close, utilisation.open).utilization,
              3,
            ),
          }
        : {}),
      ...(result.retries > 0 ? { intakesPostedAgain: result.retries } : {}),
      ...(trace ? { gcPausesMs: trace.gcPauses, traceOriginUnixMs: trace.originMs } : {}),
      ...(machineBetween && edges.open !== undefined && edges.close !== undefined
        ? {
            machine: {
              what: `the machine's cores and pressure stalls (Linux /proc/stat, /proc/pressure), sampled every ${MACHINE_SAMPLE_MS} ms: over the window here, over each of the slowest conversions in its direction's list (machine.ts)`,
              ...machineBetween(edges.open, edges.close),
            },
          }
        : {}),
      ...(waitsIn.length > 0 && edges.open !== undefined && edges.close !== undefined
        ? {
            pgWaits: {
              what: `what each PostgreSQL server's processes were doing, sampled every ${WAIT_SAMPLE_MS} ms: over the window here, over each of the slowest conversions in its direction's list (pg-waits.ts)`,
              ...waitsBetween(edges.open, edges.close),
            },
          }
        : {}),
      ...(process.execArgv.some((a) => a.startsWith('--cpu-prof')) ? { profileWindowUs: window } : {}),
      job1: {
        what: 'LAN → WAN (local notes in, wide notes delivered to the WAN mailbox, drained)',
        ...per('lan-to-wan'),
      },
      job2: {
        what: 'WAN → LAN (wide notes in, local notes delivered to the LAN mailbox, drained)',
        ...per('wan-to-lan'),
      },
    };
  } finally {
    steps?.stop([]);
    machine?.stop();
    await Promise.all(waits.map((w) => w.recorder.stop()));
    loopDelay.disable();
    if (driver.exitCode === null) driver.kill();
  }
}

/** The monitor's intervals (ns) as lateness beyond its timer's period, ms. */
function lateness(h: IntervalHistogram): { p50: number; p99: number; max: number } {
  const ms = (ns: number) => round(Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS), 1);
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
}

/**
 * Sealed requests for `amounts` (the first half job 1, the second job 2), each paying one of
 * `TERMINALS` terminals per direction in turn. Job 2's notes: wide notes from the issue server to a
 * funded holder account. Job 1's: local notes signed by the local mint against the same value
 * deposited into the reserve, so the local money is covered (invariant 2) and job 1's issues honoured.
 */
async function prepare(bank: BankSide, gw: Gateway, amounts: readonly Amount[]): Promise<Prepared> {
  const curve = defaultCurve();
  const half = Math.floor(amounts.length / 2);
  const job1 = amounts.slice(0, half);
  const job2 = amounts.slice(half, 2 * half);
  const holder = await generateEncryptionKeyPair();
  await bank.fund({
    holder: bytesToHex(holder.publicKey),
    holderAmount: sum(job2) as Amount,
    gateway: gw.keys.publicKeyHex,
    payrollAmount: sum(job1) as Amount,
    tag: bytesToHex(randomBytes(8)),
  });
  const wideKeyset = await gw.bank.activeKeyset();
  const peer = bankPeer(bank.url, bank.info);
  const wide = await inBatches(job2, async (batch) => {
    const outputs = batch.flatMap((a) => makeOutputs(curve, wideKeyset.id, a));
    const request = {
      bank: peer,
      holder,
      transferId: bytesToHex(randomBytes(16)),
      amount: sum(batch),
      outputs: blindedMessages(outputs),
    };
    // A loaded machine can take longer than a call's 10 s to sign a full batch: ask again with the
    // same transfer id (idempotent), as a holder would.
    for (let tries = 1; ; tries++) {
      try {
        const { signatures } = await requestIssue(request);
        return unblindChecked(curve, outputs, signatures, () => wideKeyset);
      } catch (e) {
        if (!isUnclear(e) || tries >= ISSUE_TRIES) throw e;
      }
    }
  });
  const localKeyset = gw.mint.keysets.current();
  const localKeys: KeysetKeys = { id: localKeyset.id, unit: localKeyset.unit, keys: localKeyset.publicKeys };
  const local = await inBatches(job1, async (batch) => {
    const outputs = batch.flatMap((a) => makeOutputs(curve, localKeyset.id, a));
    const prepared = await gw.mint.prepareOutputs(blindedMessages(outputs));
    const signatures = await gw.mint.store.transaction((trx) =>
      gw.mint.commitOutputs(trx, prepared, `bench-payroll:${bytesToHex(randomBytes(8))}`),
    );
    return unblindChecked(curve, outputs, signatures, () => localKeys);
  });
  const terminals = {
    'lan-to-wan': await makeTerminals('wan'),
    'wan-to-lan': await makeTerminals('lan'),
  };
  const sender = await generateEncryptionKeyPair();
  const gatewayKey = gw.keys.encryption.publicKey;
  const seal = async (direction: Direction, proofs: Proof[], i: number): Promise<DriverWork> => {
    const terminal = i % TERMINALS;
    const envelope: Envelope = await sealJson({
      type: direction === 'lan-to-wan' ? JOB1_REQUEST : JOB2_REQUEST,
      transferId: bytesToHex(randomBytes(16)),
      sender,
      recipient: gatewayKey,
      payload: { proofs, destination: terminals[direction][terminal]!.address },
    });
    return { direction, envelope, terminal, notes: proofs.length };
  };
  const work: DriverWork[] = [];
  for (let i = 0; i < half; i++) {
    work.push(await seal('lan-to-wan', local[i]!, i));
    work.push(await seal('wan-to-lan', wide[i]!, i));
  }
  return { work, terminals };
}

/** The notes of each amount (split into powers of two), made `make(batch)` for batches within the output limit. */
async function inBatches(
  amounts: readonly Amount[],
  make: (batch: Amount[]) => Promise<Proof[]>,
): Promise<Proof[][]> {
  const out: Proof[][] = [];
  let batch: Amount[] = [];
  let outputs = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const proofs = await make(batch);
    let at = 0;
    for (const a of batch) {
      const n = notesOf(a);
      out.push(proofs.slice(at, at + n));
      at += n;
    }
    if (at !== proofs.length) fail('Internal', { reason: `${proofs.length} notes for ${at} outputs` });
    batch = [];
    outputs = 0;
  };
  for (const a of amounts) {
    const n = splitAmount(a).length;
    if (outputs + n > MAX_OUTPUTS) await flush();
    batch.push(a);
    outputs += n;
  }
  await flush();
  return out;
}

async function makeTerminals(network: Network): Promise<DriverTerminal[]> {
  return Promise.all(
    Array.from({ length: TERMINALS }, async () => {
      const pair = await generateEncryptionKeyPair();
      return {
        address: encodeAddress({ network, publicKey: pair.publicKey }),
        privateKey: bytesToHex(pair.privateKey),
      };
    }),
  );
}

/**
 * Median ms of each stage, from the journal's events: `intake` (posted → the intake's commit: envelope
 * opened, notes checked), `bank` (→ the wide bank's answer checked and the step committed: issue or
 * receive, unblinding, sealing the payment), `delivery` (→ the payment accepted by the inbox, `done`).
 */
async function stageTimes(
  store: Store,
  finished: readonly { id: string; postedAt: number }[],
): Promise<Record<Direction, Record<string, number>>> {
  const postedAt = new Map(finished.map((f) => [f.id, f.postedAt]));
  const samples: Record<Direction, Record<string, number[]>> = { 'lan-to-wan': {}, 'wan-to-lan': {} };
  const ids = [...postedAt.keys()];
  for (let i = 0; i < ids.length; i += 500) {
    const events = await store.db
      .selectFrom('gateway_job_events as e')
      .innerJoin('gateway_jobs as j', 'j.id', 'e.job_id')
      .select(['e.job_id', 'e.from_state', 'e.to_state', 'e.at', 'j.direction'])
      .where('e.job_id', 'in', ids.slice(i, i + 500))
      .orderBy('e.job_id')
      .orderBy('e.seq')
      .execute();
    const last = new Map<string, number>();
    for (const e of events) {
      const before = last.get(e.job_id) ?? postedAt.get(e.job_id)!;
      const stage = e.from_state === 'received' ? 'intake' : e.to_state === 'done' ? 'delivery' : 'bank';
      const bucket = samples[e.direction];
      bucket[stage] = [...(bucket[stage] ?? []), Number(e.at) - before];
      last.set(e.job_id, Number(e.at));
    }
  }
  const medians = (d: Direction) =>
    Object.fromEntries(
      Object.entries(samples[d]).map(([k, v]) => [
        k,
        quantile(
          [...v].sort((a, b) => a - b),
          0.5,
        ),
      ]),
    );
  return { 'lan-to-wan': medians('lan-to-wan'), 'wan-to-lan': medians('wan-to-lan') };
}
