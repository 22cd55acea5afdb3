/**
 * `bench gateway`: conversions/s and latency (intake → `done`) of job 1 (LAN → WAN) and job 2
 * (WAN → LAN), both driven at once with several in flight, through a wide bank and a gateway in this
 * process talking HTTP over loopback (as terminals and the two servers do), on each dialect. Printed
 * next to the mint's crypto bound on all cores and the envelope backend's seal+open rate, both
 * measured in the same run, and with the median time of each journaled stage (where the time goes).
 *
 * Everything a terminal does is prepared before the clock starts: job 2's wide notes come from the
 * issue server (a funded holder account), job 1's local notes from the local mint against a deposit
 * into the reserve (the operator's payroll), and every request is sealed to the gateway in advance.
 * Each conversion pays a fresh destination address (so no inbox fills up). Conversions run for a
 * warm-up second before the clock starts (JIT compilation, schema compilers, connection pools), and
 * only those finished inside the timed window count: a long-running gateway's steady state. CPU time
 * per conversion (main thread, crypto workers, other threads, the database server) is read from /proc
 * over the window: unlike conversions per second it barely moves when other programs load the machine.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { encodeAddress, type Network } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { defaultCurve } from '../core/crypto/index.js';
import { measureEnvelopes } from '../core/envelope/bench.js';
import {
  type EncryptionKeyPair,
  type Envelope,
  generateEncryptionKeyPair,
  sealJson,
} from '../core/envelope/index.js';
import { fail } from '../core/errors.js';
import { call, fetchTransport, setHttpTransport } from '../core/http/client.js';
import { undiciTransport } from '../core/http/node-transport.js';
import { listen } from '../core/http/server.js';
import type { Amount } from '../core/money.js';
import { bankPeer, requestIssue } from '../core/protocol/bank.js';
import type { Proof } from '../core/protocol/cashu.js';
import {
  type Direction,
  JOB1_PATH,
  JOB1_REQUEST,
  JOB2_PATH,
  JOB2_REQUEST,
  TransferStatus,
} from '../core/protocol/gateway.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import { blindedMessages, type KeysetKeys, makeOutputs, unblindChecked } from '../gateway/wallet.js';
import { createCryptoPool } from '../mint/crypto-pool.js';
import type { Store } from '../store/index.js';
import { createWideBank, type WideBank } from '../wide-bank/server.js';
import { type CpuSample, cpuPerNote, sampleCpu } from './cpu.js';
import { round, WARMUP_SECONDS } from './harness.js';
import { cryptoBoundAllCores } from './parallel.js';
import type { ScenarioOptions } from './scenario.js';
import { openBenchStore } from './stores.js';

/** Each conversion moves this much: 8 + 2, two notes each way. */
const AMOUNT = 10 as Amount;
const NOTES_PER_CONVERSION = 2;
/** Conversions in flight per direction. */
const IN_FLIGHT = 8;
/** Conversions prepared per direction and second; the run stops early (and says so) if they run out. */
const PREPARED_PER_SECOND = 150;
/** Most outputs one issue request or one signing batch may carry (the mint's default limit). */
const MAX_OUTPUTS = 1000;
/** How often the journal is read for finished conversions. */
const POLL_MS = 5;

export async function gatewayScenario(o: ScenarioOptions): Promise<unknown> {
  const bound = await cryptoBoundAllCores(o.seconds);
  const envelopes = await measureEnvelopes(Math.min(o.seconds, 4));
  const results: Record<string, unknown> = {};
  // HTTP calls as `lancash gateway` makes them: on undici's request rather than fetch.
  setHttpTransport(undiciTransport);
  try {
    for (const dialect of o.dialects) results[dialect] = await conversions(dialect, o.seconds);
  } finally {
    setHttpTransport(fetchTransport);
  }
  return {
    scenario: 'gateway',
    cores: bound.cores,
    amountPerConversion: AMOUNT,
    notesPerConversion: NOTES_PER_CONVERSION,
    inFlightPerDirection: IN_FLIGHT,
    cryptoBound: {
      what: 'hash_to_curve + verify + blind-sign + DLEQ per note, native backend, all cores',
      notesPerSec: Math.round(bound.notesPerSec),
    },
    envelopes: {
      what: `seal+open of ${envelopes.payloadBytes} B per second, by backend × envelopes in flight`,
      ...Object.fromEntries(
        envelopes.results.map((r) => [`${r.backend}×${r.concurrency}`, r.sealOpenPerSecond]),
      ),
    },
    ...results,
  };
}

interface Prepared {
  direction: Direction;
  envelope: Envelope;
}

/** How a conversion ended, by the gateway's journal. */
interface End {
  state: string;
  /** The gateway's clock (unix ms) at the move. */
  at: number;
}

interface Finished {
  direction: Direction;
  /** Client clock (unix ms) when the intake was posted. */
  postedAt: number;
  id: string;
}

async function conversions(dialect: string, seconds: number) {
  const bankDb = await openBenchStore(dialect);
  const gwDb = await openBenchStore(dialect);
  const workers = availableParallelism();
  const pool = createCryptoPool({ size: workers });
  const curve = defaultCurve();
  let bank: WideBank | undefined;
  let gw: Gateway | undefined;
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
    });
    const urls = await gw.listen('127.0.0.1:0', '127.0.0.1:0');
    await gw.start();
    const count = Math.ceil((seconds + WARMUP_SECONDS) * PREPARED_PER_SECOND);
    const work = await prepare(bank, bankUrl, gw, count);

    const finished: (Finished & { doneAt: number })[] = [];
    const waiting = new Map<string, (end: End) => void>();
    const poller = pollJournal(gwDb.store, waiting);
    const queues: Record<Direction, Prepared[]> = {
      'lan-to-wan': work.filter((w) => w.direction === 'lan-to-wan'),
      'wan-to-lan': work.filter((w) => w.direction === 'wan-to-lan'),
    };
    let ranOut = false;
    let lastAt = 0;
    const from = performance.now() + WARMUP_SECONDS * 1000;
    const deadline = from + seconds * 1000;
    const cpu: Partial<Record<'open' | 'close', CpuSample | undefined>> = {};
    const edges = (['open', 'close'] as const).map(
      (edge) =>
        new Promise<void>((resolve) =>
          setTimeout(
            () => {
              cpu[edge] = sampleCpu();
              resolve();
            },
            (edge === 'open' ? from : deadline) - performance.now(),
          ),
        ),
    );
    const drive = async (direction: Direction) => {
      const queue = queues[direction];
      while (performance.now() < deadline) {
        const next = queue.pop();
        if (next === undefined) {
          ranOut = true;
          return;
        }
        const postedAt = Date.now();
        const status = await call({
          base: direction === 'lan-to-wan' ? urls.lan : urls.wan,
          method: 'POST',
          path: direction === 'lan-to-wan' ? JOB1_PATH : JOB2_PATH,
          body: next.envelope,
          schema: TransferStatus,
        });
        const end = await new Promise<End>((resolve) => waiting.set(status.transferId, resolve));
        if (end.state !== 'done')
          fail('Internal', { reason: `conversion ${status.transferId} was ${end.state}` });
        const at = performance.now();
        if (at < from || at > deadline) continue;
        finished.push({ direction, postedAt, id: status.transferId, doneAt: end.at });
        lastAt = at;
      }
    };
    await Promise.all(
      (['lan-to-wan', 'wan-to-lan'] as const).flatMap((d) =>
        Array.from({ length: IN_FLIGHT }, () => drive(d)),
      ),
    );
    await Promise.all(edges);
    // The window: warm-up end to deadline, or to the last conversion when the prepared ones ran out.
    const elapsed = ((ranOut ? lastAt : deadline) - from) / 1000;
    poller.stop();
    const stages = await stageTimes(gwDb.store, finished);
    // CPU µs per conversion (either direction) by part, when /proc could be read.
    const cpuUs = cpuPerNote(cpu.open, cpu.close, finished.length, workers);
    const per = (direction: Direction) => {
      const mine = finished.filter((f) => f.direction === direction);
      const latency = mine.map((f) => f.doneAt - f.postedAt).sort((a, b) => a - b);
      return {
        conversionsPerSec: round(mine.length / elapsed, 1),
        notesPerSec: round((mine.length * NOTES_PER_CONVERSION) / elapsed, 1),
        conversions: mine.length,
        latencyMs: { p50: quantile(latency, 0.5), p99: quantile(latency, 0.99), max: latency.at(-1) ?? 0 },
        stagesMsP50: stages[direction],
      };
    };
    return {
      server: bankDb.description,
      warmupSeconds: WARMUP_SECONDS,
      seconds: round(elapsed, 2),
      ...(ranOut ? { note: `prepared conversions ran out before ${seconds} s` } : {}),
      ...(cpuUs ? { cpuUsPerConversion: cpuUs } : {}),
      job1: {
        what: 'LAN → WAN (local notes in, wide notes delivered to the WAN mailbox)',
        ...per('lan-to-wan'),
      },
      job2: {
        what: 'WAN → LAN (wide notes in, local notes delivered to the LAN mailbox)',
        ...per('wan-to-lan'),
      },
    };
  } finally {
    await gw?.close();
    await Promise.all([gw?.lan.close(), gw?.wan.close(), bank?.app.close()]);
    await bank?.close();
    await pool.close();
    await gwDb.close();
    await bankDb.close();
  }
}

/**
 * `count` sealed requests per direction. Job 2's: wide notes from the issue server to a funded holder
 * account. Job 1's: local notes signed by the local mint against the same value deposited into the
 * reserve, so the local money is covered (invariant 2) and job 1's issue requests are honoured.
 */
async function prepare(bank: WideBank, bankUrl: string, gw: Gateway, count: number): Promise<Prepared[]> {
  const curve = defaultCurve();
  const total = AMOUNT * count;
  const holder = await generateEncryptionKeyPair();
  const { id } = await bank.ledger.openAccount(holder.publicKey);
  await bank.ledger.deposit(id, total, `bench-holder-${bytesToHex(randomBytes(8))}`);
  await bank.ledger.deposit(gw.keys.publicKeyHex, total, `bench-payroll-${bytesToHex(randomBytes(8))}`);
  // Each conversion's notes: AMOUNT split into powers of two.
  const outputsFor = (keysetId: string, n: number) =>
    Array.from({ length: n }, () => makeOutputs(curve, keysetId, AMOUNT)).flat();
  const wideKeyset = await gw.bank.activeKeyset();
  const peer = bankPeer(bankUrl, bank.info);
  const wide = await inBatches(count, async (n) => {
    const outputs = outputsFor(wideKeyset.id, n);
    const { signatures } = await requestIssue({
      bank: peer,
      holder,
      transferId: bytesToHex(randomBytes(16)),
      amount: AMOUNT * n,
      outputs: blindedMessages(outputs),
    });
    return unblindChecked(curve, outputs, signatures, () => wideKeyset);
  });
  const localKeyset = gw.mint.keysets.current();
  const localKeys: KeysetKeys = { id: localKeyset.id, unit: localKeyset.unit, keys: localKeyset.publicKeys };
  const local = await inBatches(count, async (n) => {
    const outputs = outputsFor(localKeyset.id, n);
    const prepared = await gw.mint.prepareOutputs(blindedMessages(outputs));
    const signatures = await gw.mint.store.transaction((trx) =>
      gw.mint.commitOutputs(trx, prepared, `bench-payroll:${bytesToHex(randomBytes(8))}`),
    );
    return unblindChecked(curve, outputs, signatures, () => localKeys);
  });
  const sender = await generateEncryptionKeyPair();
  const gatewayKey = gw.keys.encryption.publicKey;
  const seal = async (direction: Direction, proofs: Proof[]): Promise<Prepared> => ({
    direction,
    envelope: await sealJson({
      type: direction === 'lan-to-wan' ? JOB1_REQUEST : JOB2_REQUEST,
      transferId: bytesToHex(randomBytes(16)),
      sender,
      recipient: gatewayKey,
      payload: { proofs, destination: await freshAddress(direction === 'lan-to-wan' ? 'wan' : 'lan') },
    }),
  });
  const work: Prepared[] = [];
  for (let i = 0; i < count; i++) {
    work.push(
      await seal('lan-to-wan', local.slice(i * NOTES_PER_CONVERSION, (i + 1) * NOTES_PER_CONVERSION)),
    );
    work.push(await seal('wan-to-lan', wide.slice(i * NOTES_PER_CONVERSION, (i + 1) * NOTES_PER_CONVERSION)));
  }
  return work;
}

/** Notes for `count` conversions, made `make(n)` at a time for n conversions within the output limit. */
async function inBatches(count: number, make: (n: number) => Promise<Proof[]>): Promise<Proof[]> {
  const per = Math.floor(MAX_OUTPUTS / NOTES_PER_CONVERSION);
  const out: Proof[] = [];
  for (let done = 0; done < count; done += per) out.push(...(await make(Math.min(per, count - done))));
  if (out.length !== count * NOTES_PER_CONVERSION) {
    fail('Internal', { reason: `${out.length} notes for ${count} conversions` });
  }
  return out;
}

async function freshAddress(network: Network): Promise<string> {
  const pair: EncryptionKeyPair = await generateEncryptionKeyPair();
  return encodeAddress({ network, publicKey: pair.publicKey });
}

/**
 * Reads the journal every `POLL_MS` for the waiting transfers that reached a terminal state and
 * resolves each with its state and `updated_at` (the gateway's clock at the move, the same clock as
 * the client's here), so the latency does not depend on the polling interval.
 */
function pollJournal(store: Store, waiting: Map<string, (end: End) => void>): { stop(): void } {
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const ids = [...waiting.keys()];
      if (ids.length > 0) {
        const rows = await store.db
          .selectFrom('gateway_jobs')
          .select(['id', 'state', 'updated_at'])
          .where('id', 'in', ids)
          .where('state', 'in', ['done', 'refused'])
          .execute();
        for (const r of rows) {
          waiting.get(r.id)?.({ state: r.state, at: Number(r.updated_at) });
          waiting.delete(r.id);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  })();
  return {
    stop: () => {
      stopped = true;
    },
  };
}

/**
 * Median ms of each stage, from the journal's events: `intake` (posted → the intake's commit: envelope
 * opened, notes checked), `bank` (→ the wide bank's answer checked and the step committed: issue or
 * receive, unblinding, sealing the payment), `delivery` (→ the payment accepted by the inbox, `done`).
 */
async function stageTimes(
  store: Store,
  finished: readonly Finished[],
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
