/**
 * `bench gateway`: conversions/s, latency and CPU time per conversion of job 1 (LAN → WAN) and job 2
 * (WAN → LAN), both at once, on each dialect, against the in-run bound: the unavoidable crypto of the
 * same conversions (`conversion-crypto.ts`) on all cores with no I/O, measured just before and after.
 *
 * Traffic: amounts drawn log-uniformly from 1 to 10⁴ minor units (1 to 14 notes; `traffic.ts`), the
 * load driven from a separate process over HTTP (`gateway-driver.ts`: undici, several conversions in
 * flight per direction), paying a dozen terminals per direction whose inboxes drain on every live
 * `arrived` event. The wide bank and the gateway run in this process (so `--cpu-prof` on it profiles
 * them both), each on its own listeners and database.
 *
 * Everything a terminal does is prepared before the clock starts: job 2's wide notes come from the
 * issue server (a funded holder account), job 1's local notes from the local mint against a deposit
 * into the reserve (the operator's payroll), and every request is sealed to the gateway in advance.
 * Conversions run for a warm-up second before the clock starts, and only those drained inside the
 * timed window count. CPU time per conversion (main thread, crypto workers, other threads, the
 * database server; the driver apart) is read from /proc over the window: unlike conversions per second
 * it barely moves when other programs load the machine, and its ratio to the bound is the figure.
 *
 * `--rows N` first fills the books (`books.ts`): N spent notes at each mint and N finished jobs in the
 * journal, written by bulk SQL, so the same figures show whether cost stays flat as the books grow.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { encodeAddress, type Network } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { defaultCurve } from '../core/crypto/index.js';
import { type Envelope, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { fail } from '../core/errors.js';
import { fetchTransport, setHttpTransport } from '../core/http/client.js';
import { undiciTransport } from '../core/http/node-transport.js';
import { listen } from '../core/http/server.js';
import { type Amount, splitAmount, sum } from '../core/money.js';
import { bankPeer, requestIssue } from '../core/protocol/bank.js';
import type { Proof } from '../core/protocol/cashu.js';
import { type Direction, JOB1_REQUEST, JOB2_REQUEST } from '../core/protocol/gateway.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import { blindedMessages, type KeysetKeys, makeOutputs, unblindChecked } from '../gateway/wallet.js';
import { createCryptoPool } from '../mint/crypto-pool.js';
import type { Store } from '../store/index.js';
import { createWideBank, type WideBank } from '../wide-bank/server.js';
import { fillBooks } from './books.js';
import { type CpuSample, cpuPerNote, sampleCpu } from './cpu.js';
import type { DriverMessage, DriverStart, DriverTerminal, DriverWork } from './gateway-driver.js';
import { round, WARMUP_SECONDS } from './harness.js';
import { conversionBoundAllCores } from './parallel.js';
import type { ScenarioOptions } from './scenario.js';
import { openBenchStore } from './stores.js';
import { drawAmounts, MAX_AMOUNT, notesOf } from './traffic.js';

/** Conversions in flight per direction (the driver's). */
const IN_FLIGHT = 8;
/** Destination terminals per direction (each holds one live stream: under the servers' per-client bound). */
const TERMINALS = 12;
/** Conversions prepared per direction and second; the run stops early (and says so) if they run out. */
const PREPARED_PER_SECOND = 120;
/** Most outputs one issue request or one signing batch may carry (the mint's default limit). */
const MAX_OUTPUTS = 1000;

type Bound = Awaited<ReturnType<typeof conversionBoundAllCores>>;

export async function gatewayScenario(o: ScenarioOptions): Promise<unknown> {
  const count = Math.ceil((o.seconds + WARMUP_SECONDS) * PREPARED_PER_SECOND);
  // One draw per direction and conversion; the bound runs the same amounts.
  const amounts = drawAmounts(2 * count);
  const first = await conversionBoundAllCores(o.seconds, amounts);
  const bounds: Bound[] = [first];
  const results: Record<string, unknown> = {};
  // HTTP calls as `lancash gateway` makes them: on undici's request rather than fetch.
  setHttpTransport(undiciTransport);
  try {
    for (const dialect of o.dialects) {
      const r = await conversions(dialect, o.seconds, amounts, o.rows ?? 0);
      const before = bounds[bounds.length - 1]!;
      const after = await conversionBoundAllCores(o.seconds, amounts);
      bounds.push(after);
      const boundCpu = (before.cpuUsPerConversion + after.cpuUsPerConversion) / 2;
      results[dialect] = {
        ...r,
        boundCpuUsPerConversion: Math.round(boundCpu),
        // CPU per conversion over the bound's: what the gateway costs beyond its own crypto, whatever the load.
        ...(r.cpuUsPerConversion ? { cpuRatioToBound: round(r.cpuUsPerConversion.total / boundCpu, 2) } : {}),
      };
    }
  } finally {
    setHttpTransport(fetchTransport);
  }
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
    bound: {
      what: 'the unavoidable crypto of one conversion (envelopes, curve and receipt operations; conversion-crypto.ts), all cores, no I/O',
      conversionsPerSec: bounds.map((b) => Math.round(b.conversionsPerSec)),
      cpuUsPerConversion: bounds.map((b) => b.cpuUsPerConversion),
    },
    ...results,
  };
}

interface Prepared {
  work: DriverWork[];
  terminals: Record<Direction, DriverTerminal[]>;
}

async function conversions(dialect: string, seconds: number, amounts: readonly Amount[], rows: number) {
  const bankDb = await openBenchStore(dialect);
  const gwDb = await openBenchStore(dialect);
  const workers = availableParallelism();
  const pool = createCryptoPool({ size: workers });
  const curve = defaultCurve();
  let bank: WideBank | undefined;
  let gw: Gateway | undefined;
  let driver: ChildProcess | undefined;
  try {
    bank = await createWideBank({
      store: bankDb.store,
      currency: 'EUR',
      crypto: pool,
      lightning: 'none', // reserves are funded through accounts
      curve,
      logger: false,
      rateLimit: false,
    });
    const bankUrl = await listen(bank.app, '127.0.0.1:0');
    gw = await createGateway({
      store: gwDb.store,
      currency: 'EUR',
      wideBank: bankUrl,
      crypto: pool,
      curve,
      logger: false,
      rateLimit: false,
      // Full books are not backed by bank requests: the request-log check waits beyond the run.
      ...(rows > 0 ? { reconcileEveryMs: 86_400_000 } : {}),
    });
    const books =
      rows > 0
        ? await fillBooks({
            bank: bankDb.store,
            gateway: gwDb.store,
            keysets: { bank: bank.mint.keysets.current().id, gateway: gw.mint.keysets.current().id },
            rows,
          })
        : undefined;
    const urls = await gw.listen('127.0.0.1:0', '127.0.0.1:0');
    await gw.start();
    const prepared = await prepare(bank, bankUrl, gw, amounts);

    driver = forkDriver();
    const d = driver;
    const samples: Partial<Record<'open' | 'close', CpuSample | undefined>> = {};
    // The window on the monotonic clock in µs, as a `--cpu-prof` profile's timestamps count.
    const window: Partial<Record<'open' | 'close', number>> = {};
    const result = await new Promise<Extract<DriverMessage, { kind: 'result' }>>((resolve, reject) => {
      d.on('message', (m: DriverMessage) => {
        if (m.kind === 'ready') {
          const start: DriverStart = {
            kind: 'start',
            urls,
            mailboxes: { 'lan-to-wan': bankUrl, 'wan-to-lan': urls.lan },
            terminals: prepared.terminals,
            work: prepared.work,
            seconds,
            warmupSeconds: WARMUP_SECONDS,
            inFlight: IN_FLIGHT,
          };
          d.send(start);
        } else if (m.kind === 'edge') {
          samples[m.edge] = sampleCpu(d.pid === undefined ? [] : [d.pid]);
          window[m.edge] = Number(process.hrtime.bigint() / 1000n);
        } else if (m.kind === 'result') resolve(m);
        else reject(new Error(`bench driver: ${m.message}`));
      });
      d.once('exit', (code) => reject(new Error(`bench driver exited (${code}) without a result`)));
    });
    const finished = result.finished;
    const elapsed = result.seconds;
    const stages = await stageTimes(gwDb.store, finished);
    const cpuUs = cpuPerNote(samples.open, samples.close, finished.length, workers);
    const driverUs =
      samples.open && samples.close && finished.length > 0
        ? Math.round(((samples.close.apart - samples.open.apart) * 1000) / finished.length)
        : undefined;
    const per = (direction: Direction) => {
      const mine = finished.filter((f) => f.direction === direction);
      const latency = mine.map((f) => f.drainedAt - f.postedAt).sort((a, b) => a - b);
      return {
        conversionsPerSec: round(mine.length / elapsed, 1),
        notesPerSec: round(sum(mine.map((f) => f.notes)) / elapsed, 1),
        conversions: mine.length,
        latencyMs: { p50: quantile(latency, 0.5), p99: quantile(latency, 0.99), max: latency.at(-1) ?? 0 },
        stagesMsP50: stages[direction],
      };
    };
    return {
      server: bankDb.description,
      ...(books ? { books } : {}),
      warmupSeconds: WARMUP_SECONDS,
      seconds: round(elapsed, 2),
      ...(result.ranOut ? { note: `prepared conversions ran out before ${seconds} s` } : {}),
      ...(finished.length === 0 ? { note: 'no conversion was drained inside the timed window' } : {}),
      conversionsPerSec: round(finished.length / elapsed, 1),
      meanNotesPerConversion: round(sum(finished.map((f) => f.notes)) / Math.max(1, finished.length), 2),
      ...(cpuUs ? { cpuUsPerConversion: cpuUs } : {}),
      ...(driverUs !== undefined ? { driverCpuUsPerConversion: driverUs } : {}),
      drainsPerConversion: round(result.drains / Math.max(1, finished.length), 2),
      ...(result.retries > 0 ? { intakesPostedAgain: result.retries } : {}),
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
    if (driver?.exitCode === null) driver.kill();
    await gw?.close();
    await Promise.all([gw?.lan.close(), gw?.wan.close(), bank?.app.close()]);
    await bank?.close();
    await pool.close();
    await gwDb.close();
    await bankDb.close();
  }
}

/** The driver process: from dist/ plain JS; under the test runner TypeScript through tsx's loader. */
function forkDriver(): ChildProcess {
  const ts = import.meta.url.endsWith('.ts');
  const path = fileURLToPath(new URL(`./gateway-driver.${ts ? 'ts' : 'js'}`, import.meta.url));
  // Its own flags: a `--cpu-prof` of the servers' process is not passed on.
  return fork(path, [], {
    execArgv: ts ? ['--import', 'tsx'] : ['--enable-source-maps'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/**
 * Sealed requests for `amounts` (the first half job 1, the second job 2), each paying one of
 * `TERMINALS` terminals per direction in turn. Job 2's notes: wide notes from the issue server to a
 * funded holder account. Job 1's: local notes signed by the local mint against the same value
 * deposited into the reserve, so the local money is covered (invariant 2) and job 1's issues honoured.
 */
async function prepare(
  bank: WideBank,
  bankUrl: string,
  gw: Gateway,
  amounts: readonly Amount[],
): Promise<Prepared> {
  const curve = defaultCurve();
  const half = Math.floor(amounts.length / 2);
  const job1 = amounts.slice(0, half);
  const job2 = amounts.slice(half, 2 * half);
  const holder = await generateEncryptionKeyPair();
  const { id } = await bank.ledger.openAccount(holder.publicKey);
  await bank.ledger.deposit(id, sum(job2) as Amount, `bench-holder-${bytesToHex(randomBytes(8))}`);
  await bank.ledger.deposit(
    gw.keys.publicKeyHex,
    sum(job1) as Amount,
    `bench-payroll-${bytesToHex(randomBytes(8))}`,
  );
  const wideKeyset = await gw.bank.activeKeyset();
  const peer = bankPeer(bankUrl, bank.info);
  const wide = await inBatches(job2, async (batch) => {
    const outputs = batch.flatMap((a) => makeOutputs(curve, wideKeyset.id, a));
    const { signatures } = await requestIssue({
      bank: peer,
      holder,
      transferId: bytesToHex(randomBytes(16)),
      amount: sum(batch),
      outputs: blindedMessages(outputs),
    });
    return unblindChecked(curve, outputs, signatures, () => wideKeyset);
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

/** The q-quantile of sorted values (nearest rank). */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
