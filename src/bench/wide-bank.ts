/**
 * `bench wide-bank`: notes/s of the wide bank's issue server and receiving server (envelope opened,
 * notes signed or verified on the worker pool, one transaction with the ledger posting and the
 * stored sealed answer) on each dialect, against the all-core crypto bound measured in the same run.
 * Services are called directly (no HTTP); each request carries 64 notes. The holder's side (sealing
 * requests, making notes) is prepared before the clock starts: receive inputs are made with the
 * keyset's private keys (C = k·Y) and issue outputs are random points.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { bytesToHex, utf8 } from '../core/bytes.js';
import { defaultCurve } from '../core/crypto/index.js';
import { hashToCurve } from '../core/crypto/nut00.js';
import { randomScalar } from '../core/crypto/scalar.js';
import { type Envelope, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { BANK_ISSUE_REQUEST, BANK_RECEIVE_REQUEST } from '../core/protocol/bank.js';
import { createCryptoPool } from '../mint/crypto-pool.js';
import { Mint } from '../mint/mint.js';
import { IssueService } from '../wide-bank/issue/service.js';
import { BankKeys } from '../wide-bank/keys.js';
import { Ledger } from '../wide-bank/ledger/service.js';
import { ReceiveService } from '../wide-bank/receive/service.js';
import type { ScenarioOptions } from './index.js';
import { cryptoBoundAllCores } from './parallel.js';
import { openBenchStore } from './stores.js';

const BATCH = 64;

export async function wideBankScenario(o: ScenarioOptions): Promise<unknown> {
  const bound = await cryptoBoundAllCores(o.seconds);
  const results: Record<string, unknown> = {};
  for (const dialect of o.dialects) {
    const r = await rates(dialect, o.seconds, bound.notesPerSec);
    results[dialect] = {
      ...r,
      issue: { ...r.issue, ratioToBound: round(r.issue.notesPerSec / bound.notesPerSec, 3) },
      receive: { ...r.receive, ratioToBound: round(r.receive.notesPerSec / bound.notesPerSec, 3) },
    };
  }
  return {
    scenario: 'wide-bank',
    batch: BATCH,
    cores: bound.cores,
    cryptoBound: {
      what: 'hash_to_curve + verify + blind-sign + DLEQ per note, native backend, all cores (issue does the sign half, receive the verify half)',
      notesPerSec: Math.round(bound.notesPerSec),
    },
    ...results,
  };
}

async function rates(dialect: string, seconds: number, boundRate: number) {
  const bench = await openBenchStore(dialect);
  const pool = createCryptoPool();
  const curve = defaultCurve();
  try {
    const mint = await Mint.open({ store: bench.store, unit: 'eur', crypto: pool, curve });
    const ledger = new Ledger(bench.store);
    const keys = await BankKeys.load(bench.store);
    const holder = await generateEncryptionKeyPair();
    const { id } = await ledger.openAccount(holder.publicKey);
    await ledger.deposit(id, 2 ** 49, 'bench');
    const ks = mint.keysets.current();
    const requests = Math.max(8, Math.ceil((boundRate * seconds * 1.2) / BATCH));
    const seal = (type: string, payload: unknown) =>
      sealJson({
        type,
        transferId: randomUUID(),
        sender: holder,
        recipient: keys.encryption.publicKey,
        payload,
      });

    const issues: Envelope[] = [];
    const receives: Envelope[] = [];
    for (let r = 0; r < requests; r++) {
      const outputs = Array.from({ length: BATCH }, () => ({
        amount: 1,
        id: ks.id,
        B_: bytesToHex(curve.mulG(randomScalar())),
      }));
      issues.push(await seal(BANK_ISSUE_REQUEST, { amount: BATCH, outputs }));
      const proofs = Array.from({ length: BATCH }, () => {
        const secret = bytesToHex(randomBytes(32));
        const C = curve.mul(hashToCurve(curve, utf8(secret)), ks.privateKeys.get(1)!);
        return { amount: 1, id: ks.id, secret, C: bytesToHex(C) };
      });
      receives.push(await seal(BANK_RECEIVE_REQUEST, { proofs, account: bytesToHex(holder.publicKey) }));
    }
    const issue = new IssueService({ mint, ledger, keys });
    const receive = new ReceiveService({ mint, ledger, keys });
    return {
      issue: await drive(issues, seconds, (e) => issue.issue(e)),
      receive: await drive(receives, seconds, (e) => receive.receive(e)),
      server: bench.description,
    };
  } finally {
    await pool.close();
    await bench.close();
  }
}

/** Several requests in flight, so crypto (workers), envelopes and commits overlap; stops at the deadline. */
async function drive(work: Envelope[], seconds: number, handle: (e: Envelope) => Promise<string>) {
  const inFlight = 2 * availableParallelism();
  let next = 0;
  let notes = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline && next < work.length) {
        await handle(work[next++]!);
        notes += BATCH;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return {
    notesPerSec: Math.round(notes / elapsed),
    requestsPerSec: round(notes / BATCH / elapsed, 1),
    notes,
    seconds: round(elapsed, 2),
    inFlight,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
