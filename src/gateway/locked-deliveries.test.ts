/**
 * Locked deliveries against the real `lancash wide-bank` and `lancash gateway` processes (issue 10
 * item 7): job 1's wide notes, job 2's local notes and same-network payments are P2PK-locked to the
 * destination's key. A stolen copy (from the gateway's journal, or the sealed payment opened with the
 * destination's X25519 key) is refused to a swap without a witness, with another key's witness and
 * to another lancash wallet; the destination takes it, swapped into notes its seed restores. A
 * version-0 address still receives, unlocked; a sender still takes back a payment its inbox refused;
 * a cashu-ts token locked to a wallet's lock key is redeemed by it alone.
 */
import { Wallet as CashuWallet, getEncodedToken, P2PKBuilder } from '@cashu/cashu-ts';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeAddress, encodeAddress } from '../core/address/index.js';
import { bytesToHex, hex } from '../core/bytes.js';
import { parseWellKnownSecret } from '../core/conditions/index.js';
import { signInputs } from '../core/conditions/sign.js';
import { type Envelope, openJson } from '../core/envelope/index.js';
import { isLancashError } from '../core/errors.js';
import { call } from '../core/http/client.js';
import { sum } from '../core/money.js';
import { decode, type Proof } from '../core/protocol/cashu.js';
import { Payment } from '../core/protocol/gateway.js';
import { encodeTokenV4 } from '../core/token/index.js';
import { systemPerSuite } from '../test-support/system.js';
import {
  curve,
  expectNotesSound,
  newWallet,
  settledBalance,
  type TestWallet,
} from '../test-support/wallet.js';
import { terminalKeyPair, terminalLockKey } from '../wallet/keys.js';
import { noteY } from '../wallet/outputs.js';
import { jobOf } from './jobs/reads.js';
import { blindedMessages, makeOutputs } from './wallet.js';

const sys = systemPerSuite('locked');
const wallets: TestWallet[] = [];

async function wallet(network: 'lan' | 'wan', amount = 0): Promise<TestWallet> {
  const t =
    network === 'wan'
      ? await newWallet(sys().bank, { network: 'wan', gateway: sys().wan })
      : await newWallet(sys().lan, { network: 'lan', gateway: sys().lan });
  wallets.push(t);
  if (amount > 0) expect((await t.wallet.mintFromLightning(amount)).state).toBe('done');
  return t;
}

/** The terminal's seed, as a thief of its X25519 key (and nothing else) would need. */
async function seedOf(t: TestWallet): Promise<Uint8Array> {
  const config = await t.store.readConfig();
  return hex(config!.seed, 'seed');
}

/** The notes of a sealed payment, opened with the destination's X25519 key. */
async function opened(envelope: Envelope, destination: TestWallet): Promise<Proof[]> {
  const keys = await terminalKeyPair(await seedOf(destination));
  const { payload } = await openJson({ envelope, recipient: keys });
  return decode(Payment, payload, 'payment').proofs;
}

/** Every note is P2PK-locked (SIG_INPUTS) to `owner`'s lock key, with `also` as the only other key. */
function expectLockedTo(proofs: readonly Proof[], owner: TestWallet, also: TestWallet[] = []): void {
  expect(proofs.length).toBeGreaterThan(0);
  const key = bytesToHex(decodeAddress(owner.wallet.address).lockKey!);
  const others = also.map((t) => bytesToHex(decodeAddress(t.wallet.address).lockKey!));
  for (const p of proofs) {
    const w = parseWellKnownSecret(p.secret);
    expect(w).toMatchObject({ kind: 'P2PK', data: key, tags: { sigflag: 'SIG_INPUTS', pubkeys: others } });
  }
}

/** A swap of `inputs` at `mint` into fresh plain outputs; answers the refusal's code, or 'swapped'. */
async function steal(mint: string, inputs: Proof[]): Promise<number | 'swapped'> {
  const { keysets } = await call<{ keysets: { id: string; active: boolean }[] }>({
    base: mint,
    method: 'GET',
    path: '/v1/keysets',
  });
  const id = keysets.find((k) => k.active)!.id;
  const outputs = makeOutputs(curve, id, sum(inputs.map((p) => p.amount)));
  try {
    await call({
      base: mint,
      method: 'POST',
      path: '/v1/swap',
      body: { inputs, outputs: blindedMessages(outputs) },
    });
  } catch (e) {
    if (isLancashError(e)) return e.code;
    throw e;
  }
  return 'swapped';
}

/** Every way a stranger holding `proofs` might spend them at `mint` fails, and the notes stay unspent. */
async function expectUnstealable(mint: string, proofs: Proof[], thief: TestWallet): Promise<void> {
  const bare = proofs.map(({ witness: _w, ...p }) => p);
  expect(await steal(mint, bare)).toEqual(expect.any(Number));
  const thiefKey = terminalLockKey(await seedOf(thief)).privateKey;
  expect(await steal(mint, signInputs(bare, thiefKey))).toEqual(expect.any(Number));
  const unit = (await thief.store.readConfig())!.unit;
  const token = encodeTokenV4({ mint, unit, proofs: bare });
  await expect(thief.wallet.tokenReceive(token)).rejects.toMatchObject({
    kind: 'TransferRefused',
    message: expect.stringContaining('locked to another key'),
  });
  expect(await settledBalance(thief)).toBe(0);
  const { states } = await call<{ states: { state: string }[] }>({
    base: mint,
    method: 'POST',
    path: '/v1/checkstate',
    body: { Ys: bare.map((p) => noteY(curve, p.secret)) },
  });
  expect(states.map((s) => s.state)).toEqual(bare.map(() => 'UNSPENT'));
}

/** The wallet holds only plain (NUT-13) notes: locked ones were swapped on receipt. */
async function expectOnlyPlainNotes(t: TestWallet): Promise<void> {
  for (const n of await t.store.notes({ state: 'unspent' }))
    expect(n.proof.secret.startsWith('[')).toBe(false);
}

// Registered after systemPerSuite's audit, so it runs before it (after-hooks run in reverse).
afterEach(async () => {
  for (const t of wallets.splice(0)) await expectNotesSound(t);
});

describe('locked deliveries (real processes)', () => {
  it('both mints list NUT-11, so deliveries are locked', async () => {
    for (const base of [sys().bank, sys().lan]) {
      const info = await call<{ nuts: Record<string, { supported?: boolean }> }>({
        base,
        method: 'GET',
        path: '/v1/info',
      });
      expect(info.nuts['11']?.supported).toBe(true);
    }
  });

  it('job 2 delivers local notes only the LAN destination can spend; it takes them, its seed restores them', async () => {
    const w = await wallet('wan', 40);
    const l = await wallet('lan');
    const thief = await wallet('lan');
    const op = await w.wallet.send({ to: l.wallet.address, amount: 30 });
    expect(op).toMatchObject({ kind: 'gateway', state: 'done' });
    const job = (await jobOf(sys().gwStore.db, op.id))!;
    expect(job.direction).toBe('wan-to-lan');
    const journaled = job.journal.localProofs!;
    expectLockedTo(journaled, l);
    const sealed = await opened(job.journal.delivery!, l);
    expect(sealed).toEqual(journaled);
    await expectUnstealable(sys().lan, sealed, thief);

    const got = await l.wallet.receive();
    expect(got.received.map((o) => [o.state, o.amount])).toEqual([['done', 30]]);
    expect(await settledBalance(l)).toBe(30);
    await expectOnlyPlainNotes(l);
    const restored = await newWallet(sys().lan, { network: 'lan', gateway: sys().lan, mnemonic: l.mnemonic });
    wallets.push(restored);
    await restored.wallet.restore();
    expect(await settledBalance(restored)).toBe(30);
  });

  it('job 1 delivers wide notes only the WAN destination can spend; a copy from the journal is refused', async () => {
    const w = await wallet('wan', 30);
    const l = await wallet('lan');
    expect((await w.wallet.send({ to: l.wallet.address, amount: 30 })).state).toBe('done');
    await l.wallet.receive();
    const dest = await wallet('wan');
    const thief = await wallet('wan');
    const op = await l.wallet.send({ to: dest.wallet.address, amount: 12 });
    expect(op).toMatchObject({ kind: 'gateway', state: 'done' });
    const job = (await jobOf(sys().gwStore.db, op.id))!;
    expect(job.direction).toBe('lan-to-wan');
    expectLockedTo(job.journal.wideProofs!, dest);
    expect(await opened(job.journal.delivery!, dest)).toEqual(job.journal.wideProofs);
    await expectUnstealable(sys().bank, job.journal.wideProofs!, thief);

    const got = await dest.wallet.receive();
    expect(got.received.map((o) => [o.state, o.amount])).toEqual([['done', 12]]);
    expect(await settledBalance(dest)).toBe(12);
    await expectOnlyPlainNotes(dest);
  });

  it('same-network payments are locked to the recipient (and the sender, to take back); a refused delivery comes back', async () => {
    const a = await wallet('wan', 20);
    const b = await wallet('wan');
    const thief = await wallet('wan');
    const sent = await a.wallet.send({ to: b.wallet.address, amount: 8 });
    expect(sent.state).toBe('done');
    const proofs = await opened(sent.data.envelope!, b);
    expectLockedTo(proofs, b, [a]);
    await expectUnstealable(sys().bank, proofs, thief);
    const got = await b.wallet.receive();
    // History names the sender by the address it shows (its lock key read from the payment's locks).
    expect(got.received.map((o) => [o.amount, o.counterparty])).toEqual([[8, a.wallet.address]]);
    expect(await settledBalance(b)).toBe(8);
    await expectOnlyPlainNotes(b);

    // The inbox refuses: the sender's reclaim signs the locked notes with its own key.
    a.net.arm('deposit', 'refuse');
    const back = await a.wallet.send({ to: b.wallet.address, amount: 5 });
    expect(back).toMatchObject({ state: 'failed', reason: expect.stringContaining('taken back') });
    expect(await settledBalance(a)).toBe(12);
    expect((await b.wallet.receive()).received).toEqual([]);
    await expectOnlyPlainNotes(a);

    // Paying oneself: locked to the one key, taken in as any payment.
    expect((await a.wallet.send({ to: a.wallet.address, amount: 2 })).state).toBe('done');
    expect((await a.wallet.receive()).received.map((o) => [o.state, o.amount])).toEqual([['done', 2]]);
    expect(await settledBalance(a)).toBe(12);
  });

  it('a cashuB token that cashu-ts locked to the lock key is redeemed by that wallet alone', async () => {
    const dest = await wallet('wan');
    const thief = await wallet('wan');
    const cashu = new CashuWallet(sys().bank, { unit: 'eur' });
    await cashu.loadMint();
    const quote = await cashu.createMintQuoteBolt11(16);
    const proofs = await cashu.mintProofsBolt11(16, quote.quote);
    const lock = new P2PKBuilder().addLockPubkey(dest.wallet.lockKey).toOptions();
    const { send } = await cashu.ops.send(10, proofs).asP2PK(lock).run();
    const token = getEncodedToken({ mint: sys().bank, unit: 'eur', proofs: send });
    await expect(thief.wallet.tokenReceive(token)).rejects.toMatchObject({
      message: expect.stringContaining('locked to another key'),
    });
    expect(await dest.wallet.tokenReceive(token)).toMatchObject({ state: 'done', amount: 10 });
    expect(await settledBalance(dest)).toBe(10);
    await expectOnlyPlainNotes(dest);
  });

  it('a version-0 address (no lock key) still receives, unlocked, on both networks', async () => {
    const a = await wallet('wan', 20);
    const b = await wallet('wan');
    const l = await wallet('lan');
    const v0 = (t: TestWallet) => {
      const { network, publicKey } = decodeAddress(t.wallet.address);
      return encodeAddress({ network, publicKey });
    };
    const sent = await a.wallet.send({ to: v0(b), amount: 6 });
    expect(sent.state).toBe('done');
    for (const p of await opened(sent.data.envelope!, b))
      expect(parseWellKnownSecret(p.secret)).toBeUndefined();
    await b.wallet.receive();
    expect(await settledBalance(b)).toBe(6);

    const job2 = await a.wallet.send({ to: v0(l), amount: 4 });
    expect(job2.state).toBe('done');
    const job = (await jobOf(sys().gwStore.db, job2.id))!;
    for (const p of job.journal.localProofs!) expect(parseWellKnownSecret(p.secret)).toBeUndefined();
    await l.wallet.receive();
    expect(await settledBalance(l)).toBe(4);
  });
});
