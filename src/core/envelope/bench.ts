/**
 * Speed of envelopes (seal + open of one payload) for the two X25519 KEMs `@hpke/core` can use: its
 * built-in WebCrypto one and the pure-JS `@hpke/dhkem-x25519` (noble). Serves `lancash bench` and the
 * choice of the default suite in `envelope.ts`. WebCrypto calls run on libuv's thread pool, so the
 * figure with several envelopes in flight is the one a busy server sees.
 */
import { DhkemX25519HkdfSha256 as WebCryptoKem } from '@hpke/core';
import { DhkemX25519HkdfSha256 as NobleKem } from '@hpke/dhkem-x25519';
import { EnvelopeSuite } from './envelope.js';
import { generateEncryptionKeyPair } from './keys.js';

export type EnvelopeKem = 'webcrypto' | 'noble';

export interface EnvelopeBenchResult {
  kem: EnvelopeKem;
  /** Envelopes in flight at once. */
  concurrency: number;
  count: number;
  seconds: number;
  sealOpenPerSecond: number;
}

export interface EnvelopeBenchOptions {
  payloadBytes?: number;
  concurrency?: number[];
}

const KEMS: Record<EnvelopeKem, () => EnvelopeSuite> = {
  webcrypto: () => new EnvelopeSuite(new WebCryptoKem()),
  noble: () => new EnvelopeSuite(new NobleKem()),
};

/** Measures seal+open per second for each KEM and concurrency, splitting `seconds` between the runs. */
export async function measureEnvelopes(
  seconds = 2,
  opts: EnvelopeBenchOptions = {},
): Promise<{ payloadBytes: number; results: EnvelopeBenchResult[] }> {
  const payloadBytes = opts.payloadBytes ?? 1024;
  const levels = opts.concurrency ?? [1, 16];
  const sender = await generateEncryptionKeyPair();
  const recipient = await generateEncryptionKeyPair();
  const payload = new Uint8Array(payloadBytes).fill(0x5a);
  const slice = (seconds * 1000) / (Object.keys(KEMS).length * levels.length);
  const results: EnvelopeBenchResult[] = [];
  for (const [kem, make] of Object.entries(KEMS) as [EnvelopeKem, () => EnvelopeSuite][]) {
    const suite = make();
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
    await once(0); // imports the key pairs, outside the timing
    for (const concurrency of levels) {
      let count = 0;
      const start = performance.now();
      const worker = async () => {
        while (performance.now() - start < slice) await once(count++);
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const elapsed = (performance.now() - start) / 1000;
      results.push({
        kem,
        concurrency,
        count,
        seconds: elapsed,
        sealOpenPerSecond: Math.round(count / elapsed),
      });
    }
  }
  return { payloadBytes, results };
}
