/**
 * The wallet library against a real `lancash wide-bank` process (its Cashu mint, fake Lightning and
 * WAN mailbox), with in-memory stores: Lightning mint, payments between two WAN terminals through
 * the mailbox, tokens (also into cashu-ts), restore from the seed, a crash at every step of every
 * operation and lost or refused answers, and bad input that changes nothing. Every test ends with
 * each wallet's unspent notes unspent at the mint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet as CashuWallet, getEncodedToken } from '@cashu/cashu-ts';
import { mnemonicToSeedSync } from '@scure/bip39';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeAddress, encodeAddress } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { mintQuoteKey, mintQuotePubkey } from '../core/crypto/nut20.js';
import { generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { isLancashError } from '../core/errors.js';
import { PAYMENT } from '../core/protocol/gateway.js';
import { decodeToken, encodeTokenV4 } from '../core/token/index.js';
import { deposit } from '../mailbox/client.js';
import { killAll, type Started, startProcess } from '../test-support/process.js';
import {
  Crash,
  curve,
  expectNotesSound,
  newWallet,
  settledBalance,
  type TestWallet,
} from '../test-support/wallet.js';
import { httpNet } from './http-net.js';
import { terminalKeyPair } from './keys.js';
import { SqliteWalletStore } from './node/sqlite-store.js';
import { Wallet } from './wallet.js';

const dir = mkdtempSync(join(tmpdir(), 'lancash-wallet-'));
let bank: Started;
const wallets: TestWallet[] = [];

async function funded(amount: number): Promise<TestWallet> {
  const t = await newWallet(bank.url);
  wallets.push(t);
  if (amount > 0) {
    const op = await t.wallet.mintFromLightning(amount);
    expect(op.state).toBe('done');
  }
  return t;
}

/** What a wallet holds, to show that a refused command changed nothing. */
async function snapshot(t: TestWallet) {
  return {
    notes: await t.store.notes(),
    operations: await t.store.operations(),
    balance: await t.wallet.balance(),
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isLancashError(e)) return e.kind;
    throw e;
  }
  throw new Error('expected a refusal');
}

beforeAll(async () => {
  bank = await startProcess(['wide-bank', '--lightning', 'fake', '--listen', '127.0.0.1:0', '--data', dir]);
});
afterEach(async () => {
  for (const t of wallets.splice(0)) await expectNotesSound(t);
});
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('wallet on the WAN (real wide bank)', () => {
  it('mints over fake Lightning, pays another terminal through the mailbox, and is paid back', async () => {
    const alice = await funded(100);
    const bob = await funded(0);
    expect(await alice.wallet.balance()).toEqual({ unit: 'eur', available: 100, pending: 0 });
    expect(alice.wallet.address).toMatch(/^wan1/);

    const sent = await alice.wallet.send({ to: bob.wallet.address, amount: 37, memo: 'lunch' });
    expect(sent).toMatchObject({ kind: 'send', state: 'done', amount: 37, direction: 'out' });
    expect(await settledBalance(alice)).toBe(63);

    const got = await bob.wallet.receive();
    expect(got.received.map((o) => [o.amount, o.state, o.memo])).toEqual([[37, 'done', 'lunch']]);
    expect(await settledBalance(bob)).toBe(37);
    // Draining again finds nothing new.
    expect((await bob.wallet.receive()).received).toEqual([]);

    await bob.wallet.send({ to: alice.wallet.address, amount: 12 });
    await alice.wallet.receive();
    expect([await settledBalance(alice), await settledBalance(bob)]).toEqual([75, 25]);
    expect((await alice.wallet.history()).map((o) => [o.kind, o.direction, o.amount, o.state])).toEqual([
      ['mint', 'in', 100, 'done'],
      ['send', 'out', 37, 'done'],
      ['receive', 'in', 12, 'done'],
    ]);
  });

  it('locks each mint quote to its own key from the seed (NUT-20); the journal keeps only the counter', async () => {
    const t = await funded(0);
    const seed = mnemonicToSeedSync(t.mnemonic);
    const ops = [await t.wallet.mintFromLightning(4), await t.wallet.mintFromLightning(5)];
    const pubkeys: string[] = [];
    for (const op of ops) {
      expect(op.state).toBe('done');
      const quote = (await (
        await request(`${bank.url}/v1/mint/quote/bolt11/${op.data.quote}`)
      ).body.json()) as {
        pubkey?: string;
        state: string;
      };
      expect(quote.state).toBe('ISSUED');
      expect(quote.pubkey).toBe(mintQuotePubkey(mintQuoteKey(seed, op.data.quoteKey!)));
      pubkeys.push(quote.pubkey!);
    }
    expect(ops.map((o) => o.data.quoteKey)).toEqual([0, 1]);
    expect(new Set(pubkeys).size).toBe(2);
    expect(await settledBalance(t)).toBe(9);
  });

  it('sends a cashuB token that another terminal redeems; the sender sees it settle', async () => {
    const alice = await funded(50);
    const bob = await funded(0);
    const { token, operation } = await alice.wallet.tokenSend(20, 'for you');
    expect(token).toMatch(/^cashuB/);
    expect(decodeToken(token)).toMatchObject({ mint: bank.url, unit: 'eur', memo: 'for you' });
    expect(await alice.wallet.balance()).toEqual({ unit: 'eur', available: 30, pending: 20 });

    expect((await alice.wallet.recover()).open.map((o) => o.id)).toEqual([operation.id]);
    expect(await bob.wallet.tokenReceive(token)).toMatchObject({ state: 'done', amount: 20 });
    expect(await code(bob.wallet.tokenReceive(token))).toBe('TransferRefused');
    expect((await alice.wallet.recover()).settled.map((o) => [o.id, o.state])).toEqual([
      [operation.id, 'done'],
    ]);
    expect([await settledBalance(alice), await settledBalance(bob)]).toEqual([30, 20]);
  });

  it('gives a token that @cashu/cashu-ts receives, and takes one cashu-ts made', async () => {
    const alice = await funded(40);
    const { token } = await alice.wallet.tokenSend(13);
    const other = new CashuWallet(bank.url, { unit: 'eur' });
    await other.loadMint();
    const proofs = await other.receive(token);
    expect(proofs.reduce((n, p) => n + Number(p.amount), 0)).toBe(13);
    await alice.wallet.recover();
    expect(await settledBalance(alice)).toBe(27);

    // And back: a token cashu-ts encodes itself (it may shorten v2 keyset ids, NUT-00).
    const { send } = await other.send(5, proofs);
    const back = getEncodedToken({ mint: bank.url, unit: 'eur', proofs: send });
    expect(await alice.wallet.tokenReceive(back)).toMatchObject({ state: 'done', amount: 5 });
    expect(await settledBalance(alice)).toBe(32);
  });

  it('takes back a token nobody redeemed (cancel), after which the token is worthless', async () => {
    const alice = await funded(16);
    const bob = await funded(0);
    const { token, operation } = await alice.wallet.tokenSend(9);
    const cancelled = await alice.wallet.cancel(operation.id);
    expect(cancelled.state).toBe('failed');
    expect(await settledBalance(alice)).toBe(16);
    expect(await code(bob.wallet.tokenReceive(token))).toBe('TransferRefused');
    expect(await settledBalance(bob)).toBe(0);
  });

  it('restores from the seed alone: same address, the unspent notes, not what it gave away', async () => {
    const alice = await funded(64);
    const bob = await funded(0);
    await alice.wallet.send({ to: bob.wallet.address, amount: 10 });
    const { operation } = await alice.wallet.tokenSend(4); // handed out, not redeemed
    const before = await alice.wallet.balance();
    expect(before).toEqual({ unit: 'eur', available: 50, pending: 4 });

    const restored = await newWallet(bank.url, { mnemonic: alice.mnemonic });
    wallets.push(restored);
    expect(restored.wallet.address).toBe(alice.wallet.address);
    const summary = await restored.wallet.restore();
    expect(summary).toMatchObject({ amount: 50, pending: 0 });
    expect(await settledBalance(restored)).toBe(50);
    // The counters moved past every note found: new notes do not collide with old ones.
    await restored.wallet.mintFromLightning(3);
    expect(await settledBalance(restored)).toBe(53);
    // A second restore adds nothing.
    expect((await restored.wallet.restore()).unspent).toBe(0);
    await alice.wallet.cancel(operation.id);
  });

  it('keeps everything in a SQLite file across a reopen', async () => {
    const file = join(dir, `w-${Date.now()}.db`);
    const store = new SqliteWalletStore(file);
    const { wallet } = await Wallet.create({ store, net: httpNet(), curve, network: 'wan', mint: bank.url });
    await wallet.mintFromLightning(21);
    await store.close();
    const again = new SqliteWalletStore(file);
    const reopened = await Wallet.open({ store: again, net: httpNet(), curve });
    expect(await reopened.balance()).toEqual({ unit: 'eur', available: 21, pending: 0 });
    expect(reopened.address).toBe(wallet.address);
    expect(await code(Wallet.create({ store: again, net: httpNet(), network: 'wan', mint: bank.url }))).toBe(
      'WalletExists',
    );
    await again.close();
  });
});

describe('wallet crash safety (real wide bank)', () => {
  // Each point, the crash, then a new Wallet on the same store: recover settles, nothing is lost or doubled.
  it.each([
    ['wallet:send:after-reserve', 'rolled back', 40],
    ['wallet:send:after-swap', 'rolled back', 40],
    ['wallet:send:after-journal', 'delivered', 25],
    ['wallet:send:after-deliver', 'delivered', 25],
  ])('a send that crashes at %s is %s by recover', async (point, _what, expected) => {
    const alice = await funded(40);
    const bob = await funded(0);
    alice.crashAt(point);
    await expect(alice.wallet.send({ to: bob.wallet.address, amount: 15 })).rejects.toBeInstanceOf(Crash);
    const reopened = await alice.reopen();
    const { settled, open } = await reopened.recover();
    expect(open).toEqual([]);
    expect(settled).toHaveLength(1);
    await bob.wallet.receive();
    expect(await settledBalance(alice)).toBe(expected);
    expect(await settledBalance(bob)).toBe(40 - expected);
  });

  it('a lost deposit answer leaves the payment delivering; recover delivers it once', async () => {
    const alice = await funded(20);
    const bob = await funded(0);
    alice.net.arm('deposit', 'lose-answer');
    const op = await alice.wallet.send({ to: bob.wallet.address, amount: 6 });
    expect(op.state).toBe('delivering');
    expect(await alice.wallet.balance()).toEqual({ unit: 'eur', available: 14, pending: 6 });
    expect((await alice.wallet.recover()).settled.map((o) => o.state)).toEqual(['done']);
    expect((await bob.wallet.receive()).received).toHaveLength(1);
    expect([await settledBalance(alice), await settledBalance(bob)]).toEqual([14, 6]);
  });

  it('a refused deposit takes the notes back by a swap', async () => {
    const alice = await funded(20);
    const bob = await funded(0);
    alice.net.arm('deposit', 'refuse');
    const op = await alice.wallet.send({ to: bob.wallet.address, amount: 6 });
    expect(op).toMatchObject({ state: 'failed', reason: expect.stringContaining('taken back') });
    expect(await settledBalance(alice)).toBe(20);
    expect((await bob.wallet.receive()).received).toEqual([]);
  });

  it('a lost swap answer is found again at the mint (checkstate, then restore of our outputs)', async () => {
    const alice = await funded(20);
    const bob = await funded(0);
    alice.net.arm('call', 'lose-answer', 1, '/v1/swap');
    expect((await alice.wallet.send({ to: bob.wallet.address, amount: 7 })).state).toBe('done');
    await bob.wallet.receive();
    expect([await settledBalance(alice), await settledBalance(bob)]).toEqual([13, 7]);
  });

  it('an unreachable mint during the swap leaves the send prepared; recover rolls it back', async () => {
    const alice = await funded(20);
    const bob = await funded(0);
    // The swap, then the checkstate that asks after it.
    alice.net.arm('call', 'unreachable', 1, '/v1/swap');
    alice.net.arm('call', 'unreachable', 1, '/v1/checkstate');
    const op = await alice.wallet.send({ to: bob.wallet.address, amount: 7 });
    expect(op.state).toBe('prepared');
    expect(await alice.wallet.balance()).toEqual({ unit: 'eur', available: 4, pending: 16 });
    expect((await alice.wallet.recover()).settled.map((o) => o.state)).toEqual(['failed']);
    expect(await settledBalance(alice)).toBe(20);
  });

  it('a mint that refuses the connection for the swap: the send fails at once and the notes are free (no recover needed)', async () => {
    const alice = await funded(20);
    const bob = await funded(0);
    alice.net.arm('call', 'no-connection', 1, '/v1/swap');
    const e = await alice.wallet.send({ to: bob.wallet.address, amount: 7 }).catch((x: unknown) => x);
    expect(isLancashError(e, 'PeerUnreachable')).toBe(true);
    expect((e as Error).message).toContain('nothing was sent');
    expect(await alice.wallet.balance()).toEqual({ unit: 'eur', available: 20, pending: 0 });
    const op = (await alice.store.operations()).find((o) => o.kind === 'send');
    expect(op).toMatchObject({ state: 'failed', reason: expect.stringContaining('nothing was sent') });
    expect((await alice.wallet.send({ to: bob.wallet.address, amount: 7 })).state).toBe('done');
    await bob.wallet.receive();
    expect([await settledBalance(alice), await settledBalance(bob)]).toEqual([13, 7]);
  });

  it('settles by itself: a send left prepared by a mint that did not answer is rolled back without recover()', async () => {
    const alice = await newWallet(bank.url, { autoRecover: true });
    wallets.push(alice);
    expect((await alice.wallet.mintFromLightning(20)).state).toBe('done');
    const bob = await funded(0);
    // The swap, then the checkstate that asks after it.
    alice.net.arm('call', 'unreachable', 1, '/v1/swap');
    alice.net.arm('call', 'unreachable', 1, '/v1/checkstate');
    expect((await alice.wallet.send({ to: bob.wallet.address, amount: 7 })).state).toBe('prepared');
    expect(await alice.wallet.balance()).toEqual({ unit: 'eur', available: 4, pending: 16 });
    // Nobody calls recover(): the wallet asks the mint again by itself, about a second later.
    await vi.waitFor(async () => expect((await alice.wallet.balance()).pending).toBe(0), {
      timeout: 30_000,
      interval: 100,
    });
    expect(await alice.wallet.balance()).toEqual({ unit: 'eur', available: 20, pending: 0 });
    alice.wallet.close();
  });

  it('a receipt whose swap call fails (the notes still unspent, nobody refused) stays open and is taken on recover', async () => {
    const alice = await funded(20);
    const bob = await funded(0);
    expect((await alice.wallet.send({ to: bob.wallet.address, amount: 8 })).state).toBe('done');
    bob.net.arm('call', 'unreachable', 1, '/v1/swap'); // the receipt's swap only; the checkstate answers
    const first = await bob.wallet.receive();
    expect(first.refused).toEqual([]);
    expect(first.received.map((o) => o.state)).toEqual(['prepared']);
    expect((await bob.wallet.recover()).settled.map((o) => o.state)).toEqual(['done']);
    expect([await settledBalance(alice), await settledBalance(bob)]).toEqual([12, 8]);
  });

  it('a receipt that crashes after its journal is finished by recover and not taken twice', async () => {
    const alice = await funded(30);
    const bob = await funded(0);
    await alice.wallet.send({ to: bob.wallet.address, amount: 11 });
    bob.crashAt('wallet:receive:after-journal');
    await expect(bob.wallet.receive()).rejects.toBeInstanceOf(Crash);
    const reopened = await bob.reopen();
    expect((await reopened.recover()).settled.map((o) => [o.amount, o.state])).toEqual([[11, 'done']]);
    // The message was not acked before the crash: it comes again and is skipped as seen.
    const again = await reopened.receive();
    expect([again.received.length, again.ignored]).toEqual([0, 1]);
    expect(await settledBalance(bob)).toBe(11);
  });

  it('a Lightning mint that crashes after its journal is completed by recover', async () => {
    const alice = await funded(0);
    alice.crashAt('wallet:mint:after-journal');
    await expect(alice.wallet.mintFromLightning(8)).rejects.toBeInstanceOf(Crash);
    const reopened = await alice.reopen();
    expect((await reopened.recover()).settled.map((o) => [o.kind, o.state])).toEqual([['mint', 'done']]);
    expect(await settledBalance(alice)).toBe(8);
  });

  it('a token that crashes after its swap is rolled back: it was never handed out', async () => {
    const alice = await funded(12);
    alice.crashAt('wallet:token:after-swap');
    await expect(alice.wallet.tokenSend(5)).rejects.toBeInstanceOf(Crash);
    await (await alice.reopen()).recover();
    expect(await settledBalance(alice)).toBe(12);
  });
});

describe('wallet refusals change nothing (real wide bank)', () => {
  it('refuses bad amounts, too much, a bad address, another mint, an unreachable mailbox', async () => {
    const alice = await funded(10);
    const bob = await funded(0);
    const before = await snapshot(alice);
    for (const amount of [0, -1, 1.5, 'ten', Number.NaN, 2 ** 60]) {
      expect(await code(alice.wallet.send({ to: bob.wallet.address, amount: amount as number }))).toBe(
        'InvalidAmount',
      );
    }
    expect(await code(alice.wallet.send({ to: bob.wallet.address, amount: 11 }))).toBe('InsufficientFunds');
    expect(await code(alice.wallet.tokenSend(11))).toBe('InsufficientFunds');
    const typo = `${bob.wallet.address.slice(0, -1)}${bob.wallet.address.endsWith('q') ? 'p' : 'q'}`;
    expect(await code(alice.wallet.send({ to: typo, amount: 1 }))).toBe('AddressInvalid');
    const lan = bob.wallet.address.replace(/^wan1/, 'lan1');
    expect(await code(alice.wallet.send({ to: lan, amount: 1 }))).toBe('AddressInvalid');
    const foreign = encodeTokenV4({
      mint: 'http://127.0.0.1:1',
      unit: 'eur',
      proofs: (await alice.store.notes()).map((n) => n.proof),
    });
    expect(await code(alice.wallet.tokenReceive(foreign))).toBe('MintMismatch');
    alice.net.arm('mailboxInfo', 'unreachable');
    expect(await code(alice.wallet.send({ to: bob.wallet.address, amount: 1 }))).toBe('PeerUnreachable');
    expect(await snapshot(alice)).toEqual(before);
  });

  it('refuses to send to the other network without a gateway, and an unknown mint at create', async () => {
    const alice = await funded(4);
    const before = await snapshot(alice);
    const lan = encodeAddress({ network: 'lan', publicKey: (await generateEncryptionKeyPair()).publicKey });
    expect(await code(alice.wallet.send({ to: lan, amount: 1 }))).toBe('InvalidInput');
    expect(await snapshot(alice)).toEqual(before);
    expect(await code(newWallet('http://127.0.0.1:1'))).toBe('PeerUnreachable');
    expect(await code(newWallet(bank.url, { gateway: 'http://127.0.0.1:1' }))).toBe('PeerUnreachable');
    // The wide bank's mailbox serves the WAN: a LAN terminal cannot live there.
    expect(await code(newWallet(bank.url, { network: 'lan' }))).toBe('InvalidInput');
  });

  it('refuses and records a payment whose notes are of another mint, and skips a replay', async () => {
    const alice = await funded(8);
    const bob = await funded(0);
    const keys = await terminalKeyPair(new Uint8Array(64).fill(7));
    const proofs = (await alice.store.notes({ state: 'unspent' })).map((n) => n.proof);
    const envelope = await sealJson({
      type: PAYMENT,
      transferId: 'foreign-1',
      sender: keys,
      recipient: decodeAddress(bob.wallet.address).publicKey,
      payload: { mint: 'http://elsewhere.example', unit: 'eur', proofs },
    });
    await deposit(bank.url, bob.wallet.address, envelope);
    const summary = await bob.wallet.receive();
    expect(summary.refused.map((o) => o.reason)).toEqual([expect.stringContaining('another mint')]);
    expect(await settledBalance(bob)).toBe(0);
    expect(await settledBalance(alice)).toBe(8);
  });

  it('acks and skips junk that claims the sender and transfer id of a real payment (issue 8), taking the payment once', async () => {
    const alice = await funded(9);
    const bob = await funded(0);
    const bobKey = decodeAddress(bob.wallet.address).publicKey;
    const aliceKey = bytesToHex(decodeAddress(alice.wallet.address).publicKey);
    const stranger = await generateEncryptionKeyPair();
    /** Sealed by a stranger, then relabelled with alice's key: the mailbox stores it, it never opens. */
    const junk = async (transferId: string) => ({
      ...(await sealJson({ type: PAYMENT, transferId, sender: stranger, recipient: bobKey, payload: {} })),
      sender: aliceKey,
    });
    await deposit(bank.url, bob.wallet.address, await junk('before-the-payment'));
    const sent = await alice.wallet.send({ to: bob.wallet.address, amount: 9 });
    expect(sent.state).toBe('done');
    await deposit(bank.url, bob.wallet.address, await junk(sent.id));
    const summary = await bob.wallet.receive();
    expect([summary.received.map((o) => o.amount), summary.ignored]).toEqual([[9], 2]);
    // Everything was acked: the junk does not come back, and the payment is not taken twice.
    const again = await bob.wallet.receive();
    expect([again.received.length, again.ignored]).toEqual([0, 0]);
    expect(await settledBalance(bob)).toBe(9);
  });
});
