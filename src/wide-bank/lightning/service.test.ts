/**
 * Mint and melt quotes on every dialect: the NUT-04/05 state machines, exactly one issuance or payment
 * under concurrency, failed payments releasing the inputs, pending payments staying pending until the
 * backend knows, NUT-08 change, and hooks that run once inside the money transaction (a throwing hook
 * leaves nothing committed).
 */
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCurve } from '../../core/crypto/index.js';
import { isLancashError, LancashError } from '../../core/errors.js';
import type { BlindedMessage, Proof } from '../../core/protocol/cashu.js';
import { Mint } from '../../mint/mint.js';
import type { Database } from '../../store/schema.js';
import { DIALECTS, freshStore, type TestStore } from '../../test-support/dialects.js';
import { issue, makeOutputs, toProofs } from '../../test-support/notes.js';
import type { LightningBackend, PaymentResult } from './backend.js';
import { encodeBolt11 } from './bolt11.js';
import { createFakeLightning, type FakeLightning } from './fake.js';
import { type LightningHooks, type LightningOptions, LightningService, type MeltedEvent } from './service.js';

const curve = defaultCurve();
const START = 1_700_000_000_000;

/**
 * The fake, with knobs: invoices stay UNPAID until `paid` holds their hash, payments answer what
 * `outcome` says (default: the fake's own answer), and every payInvoice call is counted.
 */
function controlled(fake: FakeLightning) {
  const paid = new Set<string>();
  const state = {
    paid,
    manualInvoices: false,
    outcome: undefined as ((key: string) => PaymentResult | 'throw') | undefined,
    payCalls: [] as string[],
    checks: new Map<string, PaymentResult>(),
  };
  const backend: LightningBackend = {
    createInvoice: (o) => fake.createInvoice(o),
    invoiceState: async (h) =>
      state.manualInvoices ? (paid.has(h) ? 'PAID' : 'UNPAID') : fake.invoiceState(h),
    decodeInvoice: (r) => fake.decodeInvoice(r),
    payInvoice: async (o) => {
      state.payCalls.push(o.idempotencyKey);
      const forced = state.outcome?.(o.idempotencyKey);
      if (forced === 'throw') throw new Error('backend unreachable');
      if (forced) {
        state.checks.set(o.idempotencyKey, forced);
        return forced;
      }
      return fake.payInvoice(o);
    },
    checkPayment: async (key) => state.checks.get(key) ?? fake.checkPayment(key),
  };
  return { backend, state };
}

describe.each(DIALECTS)('lightning quotes on %s', (dialect) => {
  let store: TestStore;
  let mint: Mint;
  let now: number;
  let fake: FakeLightning;
  let ctl: ReturnType<typeof controlled>;
  let minted: { quote: string; amount: number; inTrx: boolean }[];
  let melted: MeltedEvent[];
  let hookFails: boolean;

  /** Hooks that record their calls, prove they got a transaction, and throw when asked. */
  const hooks: LightningHooks = {
    async onMinted(trx: Kysely<Database>, e) {
      await trx
        .insertInto('settings')
        .values({ key: `minted:${e.quote}`, value: String(e.amount) })
        .execute();
      if (hookFails) throw new LancashError('Internal', { reason: 'hook says no' });
      minted.push({ ...e, inTrx: true });
    },
    async onMelted(trx: Kysely<Database>, e) {
      await trx
        .insertInto('settings')
        .values({ key: `melted:${e.quote}`, value: String(e.amount) })
        .execute();
      if (hookFails) throw new LancashError('Internal', { reason: 'hook says no' });
      melted.push(e);
    },
  };

  const service = (o: Partial<LightningOptions> = {}) =>
    new LightningService({ mint, store, unit: 'eur', backend: ctl.backend, hooks, clock: () => now, ...o });
  const outputsFor = (amounts: number[]) => makeOutputs(curve, mint.keysets.current().id, amounts);
  const messages = (outs: { message: BlindedMessage }[]) => outs.map((o) => o.message);
  const states = async (proofs: Proof[]) =>
    (await mint.checkState((await mint.prepareInputs(proofs)).Ys)).map((s) => s.state);
  const setting = async (key: string) =>
    (await store.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value;
  const invoice = async (amount: number) =>
    (await createFakeLightning({ clock: () => now }).createInvoice({ amount })).request;

  async function code(p: Promise<unknown>): Promise<number> {
    try {
      await p;
    } catch (err) {
      if (isLancashError(err)) return err.code;
      throw err;
    }
    throw new Error('expected a refusal');
  }

  beforeEach(async () => {
    store = await freshStore(dialect);
    mint = await Mint.open({ store, unit: 'eur', curve });
    now = START;
    fake = createFakeLightning({ clock: () => now });
    ctl = controlled(fake);
    minted = [];
    melted = [];
    hookFails = false;
  });
  afterEach(async () => {
    await store.close();
  });

  describe('mint quotes (NUT-04)', () => {
    it('UNPAID → PAID → ISSUED; the notes are worth the quote; replay answers the same, others get 20002', async () => {
      ctl.state.manualInvoices = true;
      const ln = service();
      const q = await ln.createMintQuote({ amount: 13, unit: 'eur', description: 'top up' });
      expect(q).toMatchObject({ amount: 13, unit: 'eur', state: 'UNPAID', expiry: START / 1000 + 3600 });
      expect(fake.decodeInvoice(q.request).amount).toBe(13);
      const outs = outputsFor([1, 4, 8]);
      expect(await code(ln.mintTokens({ quote: q.quote, outputs: messages(outs) }))).toBe(20001);

      ctl.state.paid.add(fake.decodeInvoice(q.request).paymentHash);
      expect((await ln.getMintQuote(q.quote)).state).toBe('PAID');
      const sigs = await ln.mintTokens({ quote: q.quote, outputs: messages(outs) });
      expect(sigs.map((s) => s.amount)).toEqual([1, 4, 8]);
      const proofs = toProofs(curve, mint, outs, sigs);
      expect(await states(proofs)).toEqual(['UNSPENT', 'UNSPENT', 'UNSPENT']);
      expect(await ln.getMintQuote(q.quote)).toMatchObject({
        state: 'ISSUED',
        amount_paid: 13,
        amount_issued: 13,
      });
      expect(minted).toEqual([{ quote: q.quote, amount: 13, inTrx: true }]);

      // NUT-04 cached responses: the same request again gets the same signatures, nothing new is signed.
      expect(await ln.mintTokens({ quote: q.quote, outputs: messages(outs) })).toEqual(sigs);
      expect(await code(ln.mintTokens({ quote: q.quote, outputs: messages(outputsFor([1, 4, 8])) }))).toBe(
        20002,
      );
      expect((await mint.totals()).signed).toBe(13);
      expect(minted).toHaveLength(1);
    });

    it('refuses wrong units, amounts outside the limits, unbalanced outputs, unknown and expired quotes', async () => {
      ctl.state.manualInvoices = true;
      const ln = service({ maxAmount: 1000 });
      expect(await code(ln.createMintQuote({ amount: 5, unit: 'sat' }))).toBe(11013);
      for (const amount of [0, -1, 1.5, 1001, 2 ** 64])
        expect(await code(ln.createMintQuote({ amount, unit: 'eur' }))).toBe(11006);
      expect(await code(ln.getMintQuote('nope'))).toBe(72002);
      const q = await ln.createMintQuote({ amount: 5, unit: 'eur' });
      now += 3600_000;
      expect(await code(ln.mintTokens({ quote: q.quote, outputs: messages(outputsFor([1, 4])) }))).toBe(
        20007,
      );
      // Paid after expiry: the money arrived, so the quote can still be minted.
      ctl.state.paid.add(fake.decodeInvoice(q.request).paymentHash);
      expect(await code(ln.mintTokens({ quote: q.quote, outputs: messages(outputsFor([1, 2])) }))).toBe(
        11005,
      );
      expect(await code(ln.mintTokens({ quote: q.quote, outputs: messages(outputsFor([1, 4, 1])) }))).toBe(
        11005,
      );
      expect((await ln.getMintQuote(q.quote)).state).toBe('PAID');
      expect((await ln.mintTokens({ quote: q.quote, outputs: messages(outputsFor([1, 4])) })).length).toBe(2);
      expect(await code(ln.mintTokens({ quote: 'nope', outputs: messages(outputsFor([1])) }))).toBe(72002);
    });

    it('20 concurrent mints of one quote issue exactly once', async () => {
      const ln = service();
      const q = await ln.createMintQuote({ amount: 8, unit: 'eur' });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () =>
          ln.mintTokens({ quote: q.quote, outputs: messages(outputsFor([8])) }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      expect(ok).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason, String(r.reason)).toMatchObject({ code: 20002 });
      }
      expect((await mint.totals()).signed).toBe(8);
      expect(minted).toHaveLength(1);
    });

    it('a throwing hook leaves the quote PAID and nothing signed', async () => {
      const ln = service();
      const q = await ln.createMintQuote({ amount: 2, unit: 'eur' });
      hookFails = true;
      const outs = messages(outputsFor([2]));
      expect(await code(ln.mintTokens({ quote: q.quote, outputs: outs }))).toBe(79999);
      expect((await ln.getMintQuote(q.quote)).state).toBe('PAID');
      expect((await mint.totals()).signed).toBe(0);
      expect(await setting(`minted:${q.quote}`)).toBeUndefined();
      hookFails = false;
      expect((await ln.mintTokens({ quote: q.quote, outputs: outs })).length).toBe(1);
      expect(await setting(`minted:${q.quote}`)).toBe('2');
    });
  });

  describe('melt quotes (NUT-05, NUT-08)', () => {
    /** Notes worth `amounts`, and a melt quote on a fresh invoice of `amount`. */
    async function setup(amount: number, amounts: number[], o: Partial<LightningOptions> = {}) {
      const ln = service(o);
      const quote = await ln.createMeltQuote({ request: await invoice(amount), unit: 'eur' });
      return { ln, quote, inputs: amounts.length > 0 ? await issue(curve, mint, amounts) : [] };
    }

    it('UNPAID → PENDING → PAID: pays, spends the inputs, returns the unused fee reserve as change', async () => {
      const { ln, quote, inputs } = await setup(100, [64, 32, 4, 2]);
      expect(quote).toMatchObject({ amount: 100, fee_reserve: 2, state: 'UNPAID', payment_preimage: null });
      const blanks = outputsFor([1, 1]).map((o) => ({ ...o, message: { ...o.message, amount: 0 } }));
      const paid = await ln.meltTokens({ quote: quote.quote, inputs, outputs: messages(blanks) });
      expect(paid.state).toBe('PAID');
      expect(paid.payment_preimage).toMatch(/^[0-9a-f]{64}$/);
      // NUT-08: fee 0 of reserve 2 → one change signature of 2 on the first blank.
      expect(paid.change?.map((s) => s.amount)).toEqual([2]);
      const change = toProofs(curve, mint, blanks.slice(0, 1), paid.change!);
      expect(await states(change)).toEqual(['UNSPENT']);
      expect(await states(inputs)).toEqual(['SPENT', 'SPENT', 'SPENT', 'SPENT']);
      expect(await ln.getMeltQuote(quote.quote)).toEqual(paid);
      expect(melted).toEqual([{ quote: quote.quote, amount: 100, fee: 0, kept: 0 }]);
      expect(ctl.state.payCalls).toEqual([quote.quote]);
      // The same quote, or another quote on the same invoice, cannot pay again.
      expect(await code(ln.meltTokens({ quote: quote.quote, inputs: await issue(curve, mint, [128]) }))).toBe(
        20006,
      );
      expect(await code(ln.createMeltQuote({ request: paid.request, unit: 'eur' }))).toBe(20006);
    });

    it('without blank outputs the overpaid fee reserve is kept and reported to the hook', async () => {
      const { ln, quote, inputs } = await setup(10, [8, 4]);
      const paid = await ln.meltTokens({ quote: quote.quote, inputs });
      expect(paid.change).toBeUndefined();
      expect(melted).toEqual([{ quote: quote.quote, amount: 10, fee: 0, kept: 2 }]);
    });

    it('NUT-02 input fees must be covered on top, and are reported as kept', async () => {
      await mint.keysets.rotate({ inputFeePpk: 400 });
      const { ln, quote } = await setup(10, []);
      const short = await issue(curve, mint, [8, 4]); // 12 = 10 + 2 reserve, but 2 inputs cost 1 more
      expect(await code(ln.meltTokens({ quote: quote.quote, inputs: short }))).toBe(11005);
      const inputs = await issue(curve, mint, [8, 4, 1]); // 13 − fee ⌈1.2⌉ = 11 < 12: still short
      expect(await code(ln.meltTokens({ quote: quote.quote, inputs }))).toBe(11005);
      const enough = await issue(curve, mint, [8, 4, 2]); // 14 − 2 = 12
      const blanks = messages(outputsFor([1, 1]));
      expect((await ln.meltTokens({ quote: quote.quote, inputs: enough, outputs: blanks })).change).toEqual(
        expect.arrayContaining([expect.objectContaining({ amount: 2 })]),
      );
      expect(melted).toEqual([{ quote: quote.quote, amount: 10, fee: 0, kept: 2 }]);
    });

    it('refuses inputs that do not cover amount + fee reserve, and bad quotes, without holding anything', async () => {
      const { ln, quote, inputs } = await setup(100, [64, 32, 4]);
      expect(await code(ln.meltTokens({ quote: quote.quote, inputs }))).toBe(11005);
      expect(await states(inputs)).toEqual(['UNSPENT', 'UNSPENT', 'UNSPENT']);
      expect((await ln.getMeltQuote(quote.quote)).state).toBe('UNPAID');
      expect(await code(ln.meltTokens({ quote: 'nope', inputs }))).toBe(72002);
      expect(await code(ln.createMeltQuote({ request: await invoice(5), unit: 'sat' }))).toBe(11013);
      expect(await code(ln.createMeltQuote({ request: 'lnbc1nonsense', unit: 'eur' }))).toBe(70000);
      expect(
        await code(ln.createMeltQuote({ request: await invoice(5), unit: 'eur', options: { mpp: {} } })),
      ).toBe(70000);
      const amountless = encodeBolt11({
        timestamp: now / 1000,
        paymentHash: new Uint8Array(32).fill(1),
        paymentSecret: new Uint8Array(32),
        description: '',
        nodeKey: new Uint8Array(32).fill(2),
      });
      expect(await code(ln.createMeltQuote({ request: amountless, unit: 'eur' }))).toBe(11011);
      expect(await code(ln.createMeltQuote({ request: await invoice(2 ** 32), unit: 'eur' }))).toBe(11006);
      now += 3600_000;
      expect(await code(ln.meltTokens({ quote: quote.quote, inputs: await issue(curve, mint, [128]) }))).toBe(
        20007,
      );
      expect(await code(ln.createMeltQuote({ request: quote.request, unit: 'eur' }))).toBe(70000); // invoice expired
    });

    it('a failed payment releases the inputs (20004) and the quote can be retried under a new key', async () => {
      const { ln, quote, inputs } = await setup(6, [8]);
      ctl.state.outcome = () => ({ state: 'FAILED', fee: 0 });
      expect(await code(ln.meltTokens({ quote: quote.quote, inputs }))).toBe(20004);
      expect(await states(inputs)).toEqual(['UNSPENT']);
      expect((await ln.getMeltQuote(quote.quote)).state).toBe('UNPAID');
      expect(melted).toEqual([]);
      ctl.state.outcome = undefined;
      expect((await ln.meltTokens({ quote: quote.quote, inputs })).state).toBe('PAID');
      expect(ctl.state.payCalls).toEqual([quote.quote, `${quote.quote}/2`]);
      expect(await states(inputs)).toEqual(['SPENT']);
    });

    it('a pending payment stays PENDING, holds the inputs, and settles once the backend knows', async () => {
      const { ln, quote, inputs } = await setup(6, [8]);
      ctl.state.outcome = () => ({ state: 'PENDING', fee: 0 });
      const first = await ln.meltTokens({ quote: quote.quote, inputs });
      expect(first.state).toBe('PENDING');
      expect(await states(inputs)).toEqual(['PENDING']);
      // NUT-19: the same request again answers the same (no second payment); other inputs are refused.
      expect(await ln.meltTokens({ quote: quote.quote, inputs })).toEqual(first);
      expect(await code(ln.meltTokens({ quote: quote.quote, inputs: await issue(curve, mint, [8]) }))).toBe(
        20005,
      );
      expect((await ln.getMeltQuote(quote.quote)).state).toBe('PENDING');
      expect(await states(inputs)).toEqual(['PENDING']);
      // The payment went through with a fee of 1: no change (no blanks), 1 of the reserve kept.
      ctl.state.checks.set(quote.quote, { state: 'PAID', preimage: 'ab'.repeat(32), fee: 1 });
      const [a, b] = await Promise.all([ln.getMeltQuote(quote.quote), ln.getMeltQuote(quote.quote)]);
      expect([a.state, b.state]).toEqual(['PAID', 'PAID']);
      expect(a.payment_preimage).toBe('ab'.repeat(32));
      expect(await states(inputs)).toEqual(['SPENT']);
      expect(melted).toEqual([{ quote: quote.quote, amount: 7, fee: 1, kept: 1 }]);
    });

    it('a backend that later reports FAILED for a pending payment releases the inputs on the next check', async () => {
      const { ln, quote, inputs } = await setup(6, [8]);
      ctl.state.outcome = () => ({ state: 'PENDING', fee: 0 });
      await ln.meltTokens({ quote: quote.quote, inputs });
      ctl.state.checks.set(quote.quote, { state: 'FAILED', fee: 0 });
      expect((await ln.getMeltQuote(quote.quote)).state).toBe('UNPAID');
      expect(await states(inputs)).toEqual(['UNSPENT']);
    });

    it('a stale FAILED outcome of an earlier attempt never releases a newer attempt', async () => {
      const { ln, quote, inputs } = await setup(6, [8]);
      ctl.state.outcome = () => ({ state: 'FAILED', fee: 0 });
      await code(ln.meltTokens({ quote: quote.quote, inputs })); // attempt 1 failed, inputs released
      ctl.state.outcome = () => ({ state: 'PENDING', fee: 0 });
      await ln.meltTokens({ quote: quote.quote, inputs }); // attempt 2 pending
      const row = await store.db.selectFrom('lightning_quotes').selectAll().executeTakeFirstOrThrow();
      expect(row).toMatchObject({ state: 'PENDING', attempt: 2 });
      // A slow check of attempt 1 arrives now, with attempt 1's FAILED outcome.
      const stale = { ...row, attempt: 1 };
      // `release` is private to the melt quotes behind the service.
      await (ln as unknown as { melts: { release(r: typeof row): Promise<void> } }).melts.release(stale);
      expect((await ln.getMeltQuote(quote.quote)).state).toBe('PENDING');
      expect(await states(inputs)).toEqual(['PENDING']);
    });

    it('an unclear payment (backend threw) stays PENDING; after a restart the next check pays and settles', async () => {
      const { ln, quote, inputs } = await setup(6, [8]);
      ctl.state.outcome = () => 'throw';
      expect((await ln.meltTokens({ quote: quote.quote, inputs })).state).toBe('PENDING');
      expect((await ln.getMeltQuote(quote.quote)).state).toBe('PENDING'); // still unreachable
      // A restart: a new backend that knows nothing of the payment (checkPayment → UNKNOWN).
      ctl = controlled(createFakeLightning({ clock: () => now }));
      const restarted = service();
      expect(await restarted.resumePendingMelts()).toEqual({ paid: 1, failed: 0, pending: 0 });
      expect(ctl.state.payCalls).toEqual([quote.quote]); // paid under the same idempotency key
      expect((await restarted.getMeltQuote(quote.quote)).state).toBe('PAID');
      expect(await states(inputs)).toEqual(['SPENT']);
      expect(melted).toHaveLength(1);
    });

    it('a throwing hook leaves the paid quote PENDING with its inputs held; the next check settles it once', async () => {
      const { ln, quote, inputs } = await setup(6, [8]);
      hookFails = true;
      expect(await code(ln.meltTokens({ quote: quote.quote, inputs }))).toBe(79999);
      expect((await store.db.selectFrom('lightning_quotes').select('state').executeTakeFirst())?.state).toBe(
        'PENDING',
      );
      expect(await states(inputs)).toEqual(['PENDING']);
      expect(await setting(`melted:${quote.quote}`)).toBeUndefined();
      hookFails = false;
      expect((await ln.getMeltQuote(quote.quote)).state).toBe('PAID');
      expect(ctl.state.payCalls).toEqual([quote.quote]); // the settlement did not pay again
      expect(await setting(`melted:${quote.quote}`)).toBe('6');
      expect(melted).toHaveLength(1);
    });

    it('concurrent melts of the same inputs through two quotes make exactly one payment', async () => {
      const ln = service();
      const inputs = await issue(curve, mint, [16]);
      const quotes = await Promise.all([
        ln.createMeltQuote({ request: await invoice(10), unit: 'eur' }),
        ln.createMeltQuote({ request: await invoice(12), unit: 'eur' }),
      ]);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => ln.meltTokens({ quote: quotes[i % 2]!.quote, inputs })),
      );
      // One request wins; its repeats (the same quote and inputs) are answered that quote (NUT-19).
      const paid = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(paid.length).toBeGreaterThanOrEqual(1);
      expect(new Set(paid.map((p) => p.quote)).size).toBe(1);
      for (const r of results) {
        if (r.status === 'rejected') expect([11001, 11002, 20005, 20006]).toContain(r.reason.code);
      }
      expect(ctl.state.payCalls).toHaveLength(1);
      expect(await states(inputs)).toEqual(['SPENT']);
      expect(melted).toHaveLength(1);
    });

    it('two quotes on one invoice: only one can hold it', async () => {
      const ln = service();
      const request = await invoice(4);
      const [q1, q2] = await Promise.all([
        ln.createMeltQuote({ request, unit: 'eur' }),
        ln.createMeltQuote({ request, unit: 'eur' }),
      ]);
      ctl.state.outcome = () => ({ state: 'PENDING', fee: 0 });
      const [a, b] = [await issue(curve, mint, [8]), await issue(curve, mint, [8])];
      const results = await Promise.allSettled([
        ln.meltTokens({ quote: q1!.quote, inputs: a }),
        ln.meltTokens({ quote: q2!.quote, inputs: b }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected');
      expect(refused?.status === 'rejected' && refused.reason.code).toBe(20005);
      expect([...(await states(a)), ...(await states(b))].sort()).toEqual(['PENDING', 'UNSPENT']);
    });
  });
});
