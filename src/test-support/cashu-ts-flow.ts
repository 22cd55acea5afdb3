/**
 * cashu-ts 4 as a terminal against a lancash mint with bolt11 (fake Lightning): mint via a quote, send
 * (swap) to a token, receive it in a second wallet, check states, melt an invoice with NUT-08 change,
 * and restore a seeded wallet from its seed alone. Shared by the in-process route test and the
 * real-process test, so both prove the same thing.
 */
import { type Proof as CashuProof, getEncodedToken, Wallet } from '@cashu/cashu-ts';
import { generateMnemonic, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { expect } from 'vitest';
import { createFakeLightning } from '../wide-bank/lightning/fake.js';

const total = (ps: { amount: unknown }[]) => ps.reduce((n, p) => n + Number(p.amount), 0);

/** Runs the flow against the mint at `base` (unit `eur`); returns the quote ids it used. */
export async function cashuTsFlow(
  base: string,
): Promise<{ mintQuote: string; meltQuote: string; balance: number }> {
  const seed = mnemonicToSeedSync(generateMnemonic(wordlist));
  const wallet = new Wallet(base, { unit: 'eur', bip39seed: seed });
  await wallet.loadMint();

  // NUT-04 via a bolt11 quote (the fake invoice counts as paid at once).
  const quote = await wallet.createMintQuoteBolt11(100);
  expect(quote.amount.toString()).toBe('100');
  expect((await wallet.checkMintQuoteBolt11(quote.quote)).state).toBe('PAID');
  const proofs = await wallet.mintProofsBolt11(100, quote.quote);
  expect(total(proofs)).toBe(100);
  expect((await wallet.checkMintQuoteBolt11(quote.quote)).state).toBe('ISSUED');

  // NUT-03 send (swap) → token → a second wallet receives it.
  const { keep, send: sent } = await wallet.send(30, proofs);
  expect(total(sent)).toBe(30);
  const token = getEncodedToken({ mint: base, unit: 'eur', proofs: sent });
  const receiver = new Wallet(base, { unit: 'eur' });
  await receiver.loadMint();
  const received = await receiver.receive(token);
  expect(total(received)).toBe(30);

  // NUT-07 states; coin selection may keep some minted notes untouched (they are in `keep`).
  const kept = new Set(keep.map((p) => p.secret));
  const states = await wallet.checkProofsStates([...proofs, ...sent, ...keep, ...received]);
  expect(states.map((s) => s.state)).toEqual([
    ...proofs.map((p) => (kept.has(p.secret) ? 'UNSPENT' : 'SPENT')),
    ...sent.map(() => 'SPENT'),
    ...keep.map(() => 'UNSPENT'),
    ...received.map(() => 'UNSPENT'),
  ]);

  // NUT-05 melt of an invoice from elsewhere, with NUT-08 change for the unused fee reserve.
  const { request: invoice } = await createFakeLightning().createInvoice({ amount: 21 });
  const meltQuote = await wallet.createMeltQuoteBolt11(invoice);
  expect(meltQuote.amount.toString()).toBe('21');
  const reserve = Number(meltQuote.fee_reserve);
  const { keep: rest, send: toMelt } = await wallet.send(21 + reserve, keep, { includeFees: true });
  const melt = await wallet.meltProofsBolt11(meltQuote, toMelt);
  expect(melt.quote.state).toBe('PAID');
  expect(melt.quote.payment_preimage).toMatch(/^[0-9a-f]{64}$/);
  expect(total(melt.change)).toBe(reserve); // the fake charges no fee
  expect((await wallet.checkMeltQuoteBolt11(meltQuote.quote)).state).toBe('PAID');
  const balance = total(rest) + total(melt.change);
  expect(balance).toBe(100 - 30 - 21);

  // NUT-09/13: a wallet with only the seed finds the same unspent notes.
  const restorer = new Wallet(base, { unit: 'eur', bip39seed: seed });
  await restorer.loadMint();
  const { proofs: found } = await restorer.batchRestore();
  const unspent: CashuProof[] = [];
  const foundStates = await restorer.checkProofsStates(found);
  found.forEach((p, i) => {
    if (foundStates[i]?.state === 'UNSPENT') unspent.push(p);
  });
  expect(total(unspent)).toBe(balance);
  expect(unspent.map((p) => p.secret).sort()).toEqual([...rest, ...melt.change].map((p) => p.secret).sort());
  return { mintQuote: quote.quote, meltQuote: meltQuote.quote, balance };
}
