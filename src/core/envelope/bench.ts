/**
 * Speed of envelopes (seal + open of one payload) on the two HPKE backends: portable (pure JavaScript
 * on the noble libraries, the browser wallet's) and native (`node:crypto`). Serves `lancash bench` and
 * the choice of backend in `backend.ts`. Both work on the calling thread, so more envelopes in
 * flight at once add no speed.
 *
 * Measured on the 2-core dev machine (Node 20, OpenSSL 3.0), 1 KiB: native ≈2 600/s (≈2 400–2 750,
 * ten runs of 12 s), of which four X25519 DHs and one key generation were about 60%; portable ≈200/s of
 * CPU time (≈5 ms a seal + open: four noble X25519 DHs at ≈1.1 ms and one public key at ≈0.45 ms).
 * Since the two static-static DHs are kept (`rfc9180.ts`), a seal + open between recurring peers runs
 * two DHs: native ≈ 28 % less CPU (≈ 430 → 310 µs a seal + open on a loaded machine).
 * `@hpke/core` (WebCrypto, portable until WebCrypto was dropped for pages on plain http) did
 * ≈250–590/s one at a time and ≈750–920/s with 16 in flight on libuv's thread pool. docs/design.md
 * §8's ≈1 500/s for `@hpke/core` was not reproduced.
 */
import { envelopeSuite } from './envelope.js';
import type { HpkeBackendName } from './hpke.js';
import { generateEncryptionKeyPair } from './keys.js';

export interface EnvelopeBenchResult {
  backend: HpkeBackendName;
  /** Envelopes in flight at once. */
  concurrency: number;
  count: number;
  seconds: number;
  sealOpenPerSecond: number;
  /** The process's CPU time (user + system) per seal + open, µs: steadier than the rate on a busy machine. */
  cpuUsPerSealOpen: number;
}

export interface EnvelopeBenchOptions {
  payloadBytes?: number;
  concurrency?: number[];
  backends?: HpkeBackendName[];
}

/** Measures seal+open per second for each backend and concurrency, splitting `seconds` between the runs. */
export async function measureEnvelopes(
  seconds = 2,
  opts: EnvelopeBenchOptions = {},
): Promise<{ payloadBytes: number; results: EnvelopeBenchResult[] }> {
  const payloadBytes = opts.payloadBytes ?? 1024;
  const levels = opts.concurrency ?? [1, 16];
  const backends = opts.backends ?? ['portable', 'native'];
  const sender = await generateEncryptionKeyPair();
  const recipient = await generateEncryptionKeyPair();
  const payload = new Uint8Array(payloadBytes).fill(0x5a);
  const slice = (seconds * 1000) / (backends.length * levels.length);
  const results: EnvelopeBenchResult[] = [];
  for (const backend of backends) {
    const suite = envelopeSuite(backend);
    const once = async (i: number) => {
      const envelope = await suite.seal({
        type: 'bench',
        transferId: `t${i}`,
        sender,
        recipient: recipient.publicKey,
        payload,
      });
      await suite.open({ envelope, recipient, expectedSender: sender.publicKey });
    };
    await once(0); // checks and imports the key pairs, outside the timing
    for (const concurrency of levels) {
      let count = 0;
      const cpu = process.cpuUsage();
      const start = performance.now();
      const worker = async () => {
        while (performance.now() - start < slice) await once(count++);
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const elapsed = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      results.push({
        backend,
        concurrency,
        count,
        seconds: elapsed,
        sealOpenPerSecond: Math.round(count / elapsed),
        cpuUsPerSealOpen: Math.round((used.user + used.system) / count),
      });
    }
  }
  return { payloadBytes, results };
}
