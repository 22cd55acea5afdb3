/**
 * `bench mint`: notes/s of the mint engine's swap (64 notes in, 64 out, through the worker pool and a
 * real database) on each dialect, against the raw crypto bound on all cores measured in the same run.
 * The wallet side is prepared before the clock starts and costs the mint nothing: inputs are made
 * directly with the keyset's private keys (C = k·Y) and outputs are random points.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { bytesToHex, utf8 } from '../core/bytes.js';
import { defaultCurve } from '../core/crypto/index.js';
import { hashToCurve } from '../core/crypto/nut00.js';
import { randomScalar } from '../core/crypto/scalar.js';
import type { BlindedMessage, Proof } from '../core/protocol/cashu.js';
import { createCryptoPool } from '../mint/crypto-pool.js';
import { Mint } from '../mint/mint.js';
import type { ScenarioOptions } from './index.js';
import { cryptoBoundAllCores } from './parallel.js';
import { openBenchStore } from './stores.js';

const BATCH = 64;

export async function mintScenario(o: ScenarioOptions): Promise<unknown> {
  const bound = await cryptoBoundAllCores(o.seconds);
  const swap: Record<string, unknown> = {};
  for (const dialect of o.dialects) {
    const r = await swapRate(dialect, o.seconds, bound.notesPerSec);
    swap[dialect] = { ...r, ratioToBound: round(r.notesPerSec / bound.notesPerSec, 3) };
  }
  return {
    scenario: 'mint',
    batch: BATCH,
    cores: bound.cores,
    cryptoBound: {
      what: 'hash_to_curve + verify + blind-sign + DLEQ per note, native backend, all cores',
      notesPerSec: Math.round(bound.notesPerSec),
      perCore: bound.perCore.map(Math.round),
    },
    swap,
  };
}

async function swapRate(dialect: string, seconds: number, boundRate: number) {
  const bench = await openBenchStore(dialect);
  const pool = createCryptoPool();
  const curve = defaultCurve();
  try {
    const mint = await Mint.open({ store: bench.store, unit: 'eur', crypto: pool, curve });
    const ks = mint.keysets.current();
    // Enough work for `seconds` at the bound's rate, plus a margin; the clock stops when it runs out.
    const batches = Math.max(8, Math.ceil((boundRate * seconds * 1.2) / BATCH));
    const work: { inputs: Proof[]; outputs: BlindedMessage[] }[] = [];
    for (let b = 0; b < batches; b++) {
      const inputs: Proof[] = [];
      const outputs: BlindedMessage[] = [];
      for (let i = 0; i < BATCH; i++) {
        const secret = bytesToHex(randomBytes(32));
        const k = ks.privateKeys.get(1)!;
        inputs.push({
          amount: 1,
          id: ks.id,
          secret,
          C: bytesToHex(curve.mul(hashToCurve(curve, utf8(secret)), k)),
        });
        outputs.push({ amount: 1, id: ks.id, B_: bytesToHex(curve.mulG(randomScalar())) });
      }
      work.push({ inputs, outputs });
    }
    // Several swaps in flight so crypto (workers) and commits (database) overlap.
    const inFlight = 2 * availableParallelism();
    let next = 0;
    let notes = 0;
    const deadline = performance.now() + seconds * 1000;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < deadline && next < work.length) {
          const w = work[next++]!;
          await mint.swap(w.inputs, w.outputs);
          notes += BATCH;
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    return {
      notesPerSec: Math.round(notes / elapsed),
      swapsPerSec: round(notes / BATCH / elapsed, 1),
      notes,
      seconds: round(elapsed, 2),
      inFlight,
      server: bench.description,
    };
  } finally {
    await pool.close();
    await bench.close();
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
