/**
 * NUT-11 SIG_ALL at the wide bank's melt (NUT-05), on every dialect: the first input's witness signs
 * the inputs, the blank outputs as sent and the quote id; a signature over anything else (another
 * quote, other blanks, the swap form without the quote id) is refused with nothing held.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesToHex } from '../../core/bytes.js';
import { p2pkSecret } from '../../core/conditions/secret.js';
import { p2pkPublicKey, signSigAll } from '../../core/conditions/sign.js';
import { defaultCurve } from '../../core/crypto/index.js';
import { ERRORS } from '../../core/errors.js';
import { Mint } from '../../mint/mint.js';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { issueSecrets, makeOutputs } from '../../test-support/notes.js';
import { codeOf } from '../../test-support/refusals.js';
import { createFakeLightning } from './fake.js';
import { LightningService } from './service.js';

const curve = defaultCurve();
const key = bytesToHex(randomBytes(32));

describe.each(DIALECTS)('SIG_ALL melt on %s', (dialect) => {
  let store: TestStore;
  let mint: Mint;

  beforeEach(async () => {
    store = await freshStore(dialect);
    mint = await Mint.open({ store, unit: 'eur', curve });
  });
  afterEach(async () => {
    await store.close();
  });

  it('signs the inputs, blank outputs and quote id; any other message is refused, nothing held', async () => {
    const fake = createFakeLightning();
    const ln = new LightningService({ mint, store, unit: 'eur', backend: fake });
    const quote = await ln.createMeltQuote({
      request: (await createFakeLightning().createInvoice({ amount: 6 })).request,
      unit: 'eur',
    });
    const secret = () => p2pkSecret({ pubkey: p2pkPublicKey(key), sigflag: 'SIG_ALL' });
    const inputs = await issueSecrets(curve, mint, [secret(), secret()]);
    const blanks = makeOutputs(curve, mint.keysets.current().id, [1]).map((o) => ({
      ...o.message,
      amount: 0,
    }));
    for (const wrong of [
      signSigAll(inputs, blanks, key), // the swap form: no quote id
      signSigAll(inputs, blanks, key, { quoteId: 'another-quote' }),
      signSigAll(inputs, [], key, { quoteId: quote.quote }),
    ]) {
      expect(await codeOf(ln.meltTokens({ quote: quote.quote, inputs: wrong, outputs: blanks }))).toBe(
        ERRORS.ProofVerificationFailed.code,
      );
    }
    const held = await store.db.selectFrom('mint_proofs').select('y').execute();
    expect(held).toEqual([]);
    const right = signSigAll(inputs, blanks, key, { quoteId: quote.quote });
    const paid = await ln.meltTokens({ quote: quote.quote, inputs: right, outputs: blanks });
    expect(paid.state).toBe('PAID');
    expect((await store.db.selectFrom('mint_proofs').select('y').execute()).length).toBe(2);
  });
});
