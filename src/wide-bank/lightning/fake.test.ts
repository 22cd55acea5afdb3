/**
 * The fake Lightning backend: its invoices are real signed BOLT11 invoices that settle at once, its
 * payments succeed at zero fee unless told to fail, and paying is idempotent per key and never pays
 * one invoice twice.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hex } from '../../core/bytes.js';
import { decodeBolt11, encodeBolt11 } from './bolt11.js';
import { createFakeLightning } from './fake.js';

const NOW = 1_700_000_000_000;

/** A deterministic byte source: counts up from `seed`. */
function counter(seed: number): (n: number) => Uint8Array {
  let i = seed;
  return (n) => new Uint8Array(n).fill(++i % 256);
}

describe('fake Lightning backend', () => {
  it('issues signed invoices for amount sat that are paid at once', async () => {
    const ln = createFakeLightning({ clock: () => NOW, expirySeconds: 600 });
    const inv = await ln.createInvoice({ amount: 21, memo: 'coffee' });
    expect(inv.request).toMatch(/^lnbc210n1/);
    expect(inv.expiry).toBe(NOW / 1000 + 600);
    expect(decodeBolt11(inv.request)).toMatchObject({
      amountMsat: 21_000n,
      description: 'coffee',
      paymentHash: inv.paymentHash,
      payee: ln.nodeId,
      timestamp: NOW / 1000,
    });
    expect(await ln.invoiceState(inv.paymentHash)).toBe('PAID');
    expect(await ln.invoiceState('00'.repeat(32))).toBe('UNPAID');
    expect(ln.decodeInvoice(inv.request)).toEqual({
      amount: 21,
      paymentHash: inv.paymentHash,
      expiry: inv.expiry,
    });
  });

  it('is reproducible with an injected random source', async () => {
    const a = createFakeLightning({ rng: counter(7), clock: () => NOW });
    const b = createFakeLightning({ rng: counter(7), clock: () => NOW });
    expect(a.nodeId).toBe(b.nodeId);
    expect((await a.createInvoice({ amount: 5 })).request).toBe(
      (await b.createInvoice({ amount: 5 })).request,
    );
  });

  it('pays a decodable invoice at zero fee; the preimage of its own invoices hashes to the payment hash', async () => {
    const ln = createFakeLightning();
    const own = await ln.createInvoice({ amount: 8 });
    const paid = await ln.payInvoice({ request: own.request, maxFee: 2, idempotencyKey: 'k1' });
    expect(paid).toMatchObject({ state: 'PAID', fee: 0 });
    expect(bytesToHex(sha256(hex(paid.preimage, 'preimage', 32)))).toBe(own.paymentHash);
    const elsewhere = await createFakeLightning().createInvoice({ amount: 3 });
    expect(
      await ln.payInvoice({ request: elsewhere.request, maxFee: 0, idempotencyKey: 'k2' }),
    ).toMatchObject({
      state: 'PAID',
      fee: 0,
    });
  });

  it('is idempotent per key, and never pays one invoice under two keys', async () => {
    const ln = createFakeLightning();
    const { request } = await createFakeLightning().createInvoice({ amount: 3 });
    const first = await ln.payInvoice({ request, maxFee: 0, idempotencyKey: 'q' });
    expect(await ln.payInvoice({ request, maxFee: 0, idempotencyKey: 'q' })).toEqual(first);
    expect(await ln.checkPayment('q')).toEqual(first);
    expect(await ln.payInvoice({ request, maxFee: 0, idempotencyKey: 'other' })).toEqual({
      state: 'FAILED',
      fee: 0,
    });
    expect(await ln.checkPayment('never')).toEqual({ state: 'UNKNOWN', fee: 0 });
  });

  it('fails payments it is told to fail, expired, amountless and malformed invoices', async () => {
    let t = NOW;
    const other = createFakeLightning({ clock: () => t, expirySeconds: 60 });
    const doomed = await other.createInvoice({ amount: 1, memo: 'doomed' });
    const ln = createFakeLightning({ clock: () => t, fail: (r) => r === doomed.request });
    const pay = (request: string, key: string) => ln.payInvoice({ request, maxFee: 0, idempotencyKey: key });
    expect((await pay(doomed.request, 'a')).state).toBe('FAILED');
    const late = await other.createInvoice({ amount: 1 });
    t += 61_000;
    expect((await pay(late.request, 'b')).state).toBe('FAILED');
    const amountless = encodeBolt11({
      timestamp: t / 1000,
      paymentHash: new Uint8Array(32),
      paymentSecret: new Uint8Array(32),
      description: '',
      nodeKey: new Uint8Array(32).fill(9),
    });
    expect(ln.decodeInvoice(amountless).amount).toBeUndefined();
    expect((await pay(amountless, 'c')).state).toBe('FAILED');
    expect((await pay('lnbc1garbage', 'd')).state).toBe('FAILED');
    expect(() => ln.decodeInvoice('lnbc1garbage')).toThrow(/request/);
  });

  it('rounds a sub-satoshi invoice amount up to whole units', () => {
    const ln = createFakeLightning();
    const request = encodeBolt11({
      amountMsat: 1001n,
      timestamp: NOW / 1000,
      paymentHash: new Uint8Array(32),
      paymentSecret: new Uint8Array(32),
      description: '',
      nodeKey: new Uint8Array(32).fill(9),
    });
    expect(ln.decodeInvoice(request).amount).toBe(2);
  });
});
