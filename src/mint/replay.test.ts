/**
 * NUT-19 cached responses over real HTTP on every dialect: an identical replay of a swap, a bolt11
 * mint and a bolt11 melt answers the very same body, from what the database holds, and writes
 * nothing; a request that is not the same (other inputs, other outputs, other blanks, a forged input)
 * keeps its refusal and learns no signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCurve } from '../core/crypto/index.js';
import type { Proof } from '../core/protocol/cashu.js';
import { DIALECTS } from '../test-support/dialects.js';
import { refusalCode, sendJson } from '../test-support/http.js';
import { startLightningMint } from '../test-support/lightning-mint.js';
import { issue, makeOutputs, stateOf } from '../test-support/notes.js';
import { createFakeLightning } from '../wide-bank/lightning/fake.js';
import type { Mint } from './mint.js';

const curve = defaultCurve();

describe.each(DIALECTS)('NUT-19 replays on %s', (dialect) => {
  let mint: Mint;
  let base: string;
  let close: () => Promise<void>;

  const send = (path: string, body: unknown) => sendJson(base, 'POST', path, body);
  const outputsOf = (amounts: number[]) =>
    makeOutputs(curve, mint.keysets.current().id, amounts).map((o) => o.message);
  /** The mint's books: any write changes them. */
  const books = () => mint.totals();

  beforeAll(async () => {
    ({ mint, base, close } = await startLightningMint(dialect));
  });
  afterAll(() => close());

  it('swap: the same request again answers the same body and writes nothing', async () => {
    const inputs = await issue(curve, mint, [4, 1]);
    const body = { inputs, outputs: outputsOf([1, 2, 2]) };
    const first = await send('/v1/swap', body);
    expect(first.status).toBe(200);
    const before = await books();
    for (let i = 0; i < 2; i++) {
      const again = await send('/v1/swap', body);
      expect(again.status).toBe(200);
      expect(again.text).toBe(first.text);
    }
    expect(await books()).toEqual(before);
  });

  it('swap: two identical requests at once both get the one answer', async () => {
    for (let round = 0; round < 5; round++) {
      const inputs = await issue(curve, mint, [2, 1]);
      const body = { inputs, outputs: outputsOf([1, 1, 1]) };
      const [a, b] = await Promise.all([send('/v1/swap', body), send('/v1/swap', body)]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(b.text).toBe(a.text);
    }
  });

  it('swap: a request that is not the same keeps its refusal', async () => {
    const inputs = await issue(curve, mint, [4, 1]);
    const outputs = outputsOf([1, 2, 2]);
    expect((await send('/v1/swap', { inputs, outputs })).status).toBe(200);
    const before = await books();
    // The same outputs with other (valid, unspent) inputs: nobody else learns those signatures.
    const others = await issue(curve, mint, [4, 1]);
    expect(refusalCode(await send('/v1/swap', { inputs: others, outputs }))).toBe(11003);
    expect(await stateOf(base, others)).toEqual(['UNSPENT', 'UNSPENT']);
    // The same inputs with other outputs: already spent.
    expect(refusalCode(await send('/v1/swap', { inputs, outputs: outputsOf([1, 2, 2]) }))).toBe(11001);
    // The same outputs in another order, or a part of them with a part of the inputs.
    const reordered = [outputs[2]!, outputs[0]!, outputs[1]!];
    const r = await send('/v1/swap', { inputs, outputs: reordered });
    expect(r.status).toBe(200); // the same set: the signatures of these outputs, in this order
    expect(
      refusalCode(await send('/v1/swap', { inputs: [inputs[0]!], outputs: [outputs[1]!, outputs[2]!] })),
    ).toBe(11003);
    // A forged input (its signature changed) with the original outputs.
    const forged: Proof[] = [{ ...inputs[0]!, C: inputs[1]!.C }, inputs[1]!];
    expect(refusalCode(await send('/v1/swap', { inputs: forged, outputs }))).toBe(10001);
    // Outputs of one swap with the inputs of another: each was spent and signed, but not together.
    const otherInputs = await issue(curve, mint, [4, 1]);
    expect((await send('/v1/swap', { inputs: otherInputs, outputs: outputsOf([4, 1]) })).status).toBe(200);
    const mid = await books();
    expect(refusalCode(await send('/v1/swap', { inputs: otherInputs, outputs }))).toBe(11003);
    expect(await books()).toEqual(mid);
    // Signed since: two issues of 5 and the one new swap of 5; none of the refusals signed anything.
    expect(mid.signed - before.signed).toBe(15);
  });

  it('mint (bolt11): the same request again answers the same body', async () => {
    const q = await send('/v1/mint/quote/bolt11', { amount: 3, unit: 'eur' });
    const body = { quote: q.json.quote, outputs: outputsOf([1, 2]) };
    const first = await send('/v1/mint/bolt11', body);
    expect(first.status).toBe(200);
    const before = await books();
    const again = await send('/v1/mint/bolt11', body);
    expect(again.text).toBe(first.text);
    expect(await books()).toEqual(before);
    expect(refusalCode(await send('/v1/mint/bolt11', { ...body, outputs: outputsOf([1, 2]) }))).toBe(20002);
    // Outputs another operation signed (a swap), worth the quote's amount: not this quote's answer.
    const swapOutputs = outputsOf([1, 2]);
    const swapped = await send('/v1/swap', {
      inputs: await issue(curve, mint, [2, 1]),
      outputs: swapOutputs,
    });
    expect(swapped.status).toBe(200);
    expect(refusalCode(await send('/v1/mint/bolt11', { ...body, outputs: swapOutputs }))).toBe(20002);
    // A part of the quote's own outputs: refused too.
    expect(refusalCode(await send('/v1/mint/bolt11', { ...body, outputs: body.outputs.slice(1) }))).toBe(
      20002,
    );
  });

  it('melt (bolt11): the same request again answers the same body; other inputs or blanks are refused', async () => {
    const { request } = await createFakeLightning().createInvoice({ amount: 5 });
    const q = await send('/v1/melt/quote/bolt11', { request, unit: 'eur' });
    expect(q.status).toBe(200);
    expect(q.json.fee_reserve).toBe(2);
    const inputs = await issue(curve, mint, [4, 2, 1]);
    const blanks = outputsOf([1, 1]).map((m) => ({ ...m, amount: 0 }));
    const body = { quote: q.json.quote, inputs, outputs: blanks };
    const first = await send('/v1/melt/bolt11', body);
    expect(first.status).toBe(200);
    expect(first.json.state).toBe('PAID');
    const before = await books();
    const again = await send('/v1/melt/bolt11', body);
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(await books()).toEqual(before);
    // Other blanks, or the inputs without one of them: the quote is paid (20006), nothing more.
    expect(refusalCode(await send('/v1/melt/bolt11', { ...body, outputs: outputsOf([1, 1]) }))).toBe(20006);
    expect(refusalCode(await send('/v1/melt/bolt11', { ...body, inputs: inputs.slice(1) }))).toBe(20006);
    const others = await issue(curve, mint, [4, 2, 1]);
    const withOthers = await books();
    expect(refusalCode(await send('/v1/melt/bolt11', { ...body, inputs: others }))).toBe(20006);
    expect(await books()).toEqual(withOthers);
    expect(await stateOf(base, others)).toEqual(['UNSPENT', 'UNSPENT', 'UNSPENT']);
  });
});
