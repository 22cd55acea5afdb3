/**
 * NUT-20 signed mint quotes over real HTTP on every dialect: the quote echoes its `pubkey`, a request
 * with a valid signature (either message form) mints, a missing, wrong or malformed signature is
 * refused with 20008 and changes nothing, a bad key is refused with 20009, and an identical replay of
 * a signed mint answers the same body (NUT-19).
 */
import { randomBytes } from 'node:crypto';
import { schnorr } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../../core/bytes.js';
import { defaultCurve } from '../../core/crypto/index.js';
import { legacyMintQuoteMessage, mintQuotePubkey, signMintQuote } from '../../core/crypto/nut20.js';
import type { Mint } from '../../mint/mint.js';
import { DIALECTS } from '../../test-support/dialects.js';
import { refusalCode, sendJson } from '../../test-support/http.js';
import { startLightningMint } from '../../test-support/lightning-mint.js';
import { makeOutputs } from '../../test-support/notes.js';
import type { MintedEvent } from './service.js';

const curve = defaultCurve();

describe.each(DIALECTS)('NUT-20 signed mint quotes on %s', (dialect) => {
  let mint: Mint;
  let base: string;
  let close: () => Promise<void>;
  const minted: MintedEvent[] = [];
  const key = randomBytes(32);
  const pubkey = mintQuotePubkey(key);

  const send = (method: 'GET' | 'POST', path: string, body?: unknown) => sendJson(base, method, path, body);

  beforeAll(async () => {
    ({ mint, base, close } = await startLightningMint(dialect, {
      onMinted: async (_trx, e) => void minted.push(e),
      onMelted: async () => {},
    }));
  });
  afterAll(() => close());

  /** A paid quote locked to `pubkey`, and outputs worth its amount. */
  const lockedQuote = async (amounts = [1, 4]) => {
    const q = await send('POST', '/v1/mint/quote/bolt11', { amount: 5, unit: 'eur', pubkey });
    expect(q.status).toBe(200);
    expect(q.json.pubkey).toBe(pubkey);
    const quote = q.json.quote as string;
    const got = await send('GET', `/v1/mint/quote/bolt11/${quote}`);
    expect(got.json).toMatchObject({ state: 'PAID', pubkey });
    const outputs = makeOutputs(curve, mint.keysets.current().id, amounts).map((o) => o.message);
    return { quote, outputs };
  };

  /** The quote is still PAID and none of the outputs was signed. */
  const untouched = async (quote: string, outputs: unknown[]) => {
    expect((await send('GET', `/v1/mint/quote/bolt11/${quote}`)).json.state).toBe('PAID');
    expect((await mint.restore(outputs)).signatures).toEqual([]);
  };

  it('an unlocked quote carries no pubkey and mints without a signature', async () => {
    const q = await send('POST', '/v1/mint/quote/bolt11', { amount: 1, unit: 'eur', pubkey: null });
    expect(q.json).not.toHaveProperty('pubkey');
    const outputs = makeOutputs(curve, mint.keysets.current().id, [1]).map((o) => o.message);
    const m = await send('POST', '/v1/mint/bolt11', { quote: q.json.quote, outputs });
    expect(m.status).toBe(200);
  });

  it('a valid signature mints; an identical replay answers the same body, nothing more is minted', async () => {
    const { quote, outputs } = await lockedQuote();
    const body = { quote, outputs, signature: signMintQuote(key, quote, outputs) };
    const before = minted.length;
    const m = await send('POST', '/v1/mint/bolt11', body);
    expect(m.status).toBe(200);
    expect(m.json.signatures).toHaveLength(2);
    const again = await send('POST', '/v1/mint/bolt11', body);
    expect(again.status).toBe(200);
    expect(again.text).toBe(m.text);
    expect(minted.length).toBe(before + 1);
    expect((await send('GET', `/v1/mint/quote/bolt11/${quote}`)).json.state).toBe('ISSUED');
    // The replay of an issued locked quote still needs the signature.
    expect(refusalCode(await send('POST', '/v1/mint/bolt11', { quote, outputs }))).toBe(20008);
  });

  it("the earlier message form (the spec's first vectors) mints too", async () => {
    const { quote, outputs } = await lockedQuote([2, 2, 1]);
    const signature = bytesToHex(schnorr.sign(sha256(legacyMintQuoteMessage(quote, outputs)), key));
    expect((await send('POST', '/v1/mint/bolt11', { quote, outputs, signature })).status).toBe(200);
  });

  it('a missing, wrong or malformed signature is refused with 20008 and changes nothing', async () => {
    const { quote, outputs } = await lockedQuote();
    const other = randomBytes(32);
    const before = minted.length;
    const cases: unknown[] = [
      undefined,
      null,
      signMintQuote(other, quote, outputs),
      signMintQuote(key, `${quote}x`, outputs),
      signMintQuote(key, quote, [outputs[1]!, outputs[0]!]),
      'zz',
      'ab'.repeat(64),
      'ab'.repeat(100),
    ];
    for (const signature of cases) {
      const r = await send('POST', '/v1/mint/bolt11', { quote, outputs, signature });
      expect(refusalCode(r), JSON.stringify(signature)).toBe(20008);
    }
    // Signed for other outputs: refused for these.
    const swapped = makeOutputs(curve, mint.keysets.current().id, [1, 4]).map((o) => o.message);
    const r = await send('POST', '/v1/mint/bolt11', {
      quote,
      outputs,
      signature: signMintQuote(key, quote, swapped),
    });
    expect(refusalCode(r)).toBe(20008);
    // Oversized: refused by the schema before any work (70000), or by the body limit.
    for (const signature of ['ab'.repeat(5000), ['ab'.repeat(64)], 7]) {
      const big = await send('POST', '/v1/mint/bolt11', { quote, outputs, signature });
      expect(big.status).toBeGreaterThanOrEqual(400);
      expect(big.status).toBeLessThan(500);
    }
    expect(minted.length).toBe(before);
    await untouched(quote, outputs);
    // The owner can still mint it.
    const ok = await send('POST', '/v1/mint/bolt11', {
      quote,
      outputs,
      signature: signMintQuote(key, quote, outputs),
    });
    expect(ok.status).toBe(200);
  });

  it('cheap checks come first: an unbalanced request is refused before its signature is looked at', async () => {
    const { quote } = await lockedQuote();
    const outputs = makeOutputs(curve, mint.keysets.current().id, [1]).map((o) => o.message);
    const r = await send('POST', '/v1/mint/bolt11', { quote, outputs, signature: 'zz' });
    expect(refusalCode(r)).toBe(11005);
  });

  it('a pubkey that is no compressed point is refused with 20009, and no quote is made', async () => {
    for (const bad of [
      'zz',
      `04${pubkey.slice(2)}`,
      pubkey.slice(0, 64),
      `02${'0'.repeat(63)}5`,
      'ab'.repeat(128),
      42,
    ]) {
      const r = await send('POST', '/v1/mint/quote/bolt11', { amount: 5, unit: 'eur', pubkey: bad });
      expect(refusalCode(r), String(bad)).toBe(typeof bad === 'string' ? 20009 : 70000);
    }
  });
});
