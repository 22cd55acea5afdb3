/** Locked deliveries, the wallet's rules: which notes it may take, and the witnesses it signs. */
import { schnorr } from '@noble/curves/secp256k1.js';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hex } from '../core/bytes.js';
import { htlcSecret, p2pkSecret, parseWellKnownSecret, parseWitness } from '../core/conditions/index.js';
import { messageDigest, xOnly } from '../core/conditions/sign.js';
import type { Proof } from '../core/protocol/cashu.js';
import { terminalLockKey } from './keys.js';
import { lockedSecret, lockRefusal, lockStatus, senderLockKey, withWitnesses } from './locks.js';

const me = terminalLockKey(new Uint8Array(64).fill(1));
const other = terminalLockKey(new Uint8Array(64).fill(2));
const hexOf = (k: { publicKey: Uint8Array }) => bytesToHex(k.publicKey);
const note = (secret: string): Proof => ({
  amount: 1,
  id: '00aabbccddeeff00',
  secret,
  C: `02${'11'.repeat(32)}`,
});

describe('locked deliveries (wallet)', () => {
  it('builds a SIG_INPUTS secret for the recipient, with the sender as the one other key', () => {
    const w = parseWellKnownSecret(lockedSecret({ to: me.publicKey, from: other.publicKey }))!;
    expect(w).toMatchObject({ kind: 'P2PK', data: hexOf(me) });
    expect(w.tags).toMatchObject({ sigflag: 'SIG_INPUTS', pubkeys: [hexOf(other)] });
    expect(w.tags.n_sigs).toBeUndefined();
    const alone = parseWellKnownSecret(lockedSecret({ to: me.publicKey }))!;
    expect(alone.tags.pubkeys).toEqual([]);
    // Paying oneself names the key once (a key twice in a pathway is malformed, NUT-11).
    const self = parseWellKnownSecret(lockedSecret({ to: me.publicKey, from: me.publicKey }))!;
    expect(self).toMatchObject({ data: hexOf(me), tags: { pubkeys: [] } });
    // A fresh nonce each time: two notes of one payment never share a secret.
    expect(lockedSecret({ to: me.publicKey })).not.toBe(lockedSecret({ to: me.publicKey }));
  });

  it('takes plain notes and notes its key alone can spend; refuses the rest, saying why', () => {
    expect(lockStatus('ab'.repeat(32), me)).toEqual({ kind: 'plain' });
    expect(lockStatus(lockedSecret({ to: me.publicKey }), me)).toEqual({ kind: 'mine' });
    // BIP-340 keys are x-only: a lock to the same x with the other parity byte is this wallet's too.
    const flipped = hexOf(me).replace(/^0[23]/, (p) => (p === '02' ? '03' : '02'));
    expect(lockStatus(p2pkSecret({ pubkey: flipped }), me)).toEqual({ kind: 'mine' });
    // The sender's side of a 1-of-2 lock: its reclaim signs too.
    expect(lockStatus(lockedSecret({ to: other.publicKey, from: me.publicKey }), me)).toEqual({
      kind: 'mine',
    });
    const refusedFor = (secret: string) => {
      const s = lockStatus(secret, me);
      return s.kind === 'refused' ? s.reason : s.kind;
    };
    expect(refusedFor(lockedSecret({ to: other.publicKey }))).toMatch(/locked to another key/);
    // Two signatures needed: this wallet cannot spend it alone.
    const twoOfTwo = p2pkSecret({ pubkey: hexOf(me), pubkeys: [hexOf(other)], n_sigs: 2 });
    expect(refusedFor(twoOfTwo)).toMatch(/another key/);
    // SIG_ALL is not what this wallet signs.
    expect(refusedFor(p2pkSecret({ pubkey: hexOf(me), sigflag: 'SIG_ALL' }))).toMatch(/another key/);
    expect(refusedFor(htlcSecret({ hash: 'ab'.repeat(32) }))).toMatch(/HTLC/);
    expect(refusedFor('["P2PK",{"nonce":"x","data":"zz","tags":[]}]')).toMatch(/malformed/);
    const notes = [note('cd'.repeat(32)), note(lockedSecret({ to: other.publicKey }))];
    expect(lockRefusal(notes, me)).toMatch(/another key/);
    expect(lockRefusal([note(lockedSecret({ to: me.publicKey }))], me)).toBeUndefined();
  });

  it("names the sender's lock key only when every note is a 1-of-2 lock to this wallet with the same other key", () => {
    const third = terminalLockKey(new Uint8Array(64).fill(3));
    const from = (k: typeof other) => note(lockedSecret({ to: me.publicKey, from: k.publicKey }));
    expect(senderLockKey([from(other), from(other)], me)).toEqual({ lockKey: other.publicKey });
    expect(senderLockKey([from(other), from(third)], me)).toEqual({});
    expect(senderLockKey([from(other), note('ab'.repeat(32))], me)).toEqual({});
    expect(senderLockKey([note(lockedSecret({ to: me.publicKey }))], me)).toEqual({});
    expect(senderLockKey([note(lockedSecret({ to: third.publicKey, from: other.publicKey }))], me)).toEqual(
      {},
    );
    // A well-formed key that is no point of the curve names nobody.
    const offCurve = `02${'00'.repeat(31)}05`;
    expect(senderLockKey([note(p2pkSecret({ pubkey: hexOf(me), pubkeys: [offCurve] }))], me)).toEqual({});
    expect(senderLockKey([], me)).toEqual({});
  });

  it('signs only the inputs locked to its key, with a BIP-340 signature on the secret', () => {
    const mine = note(lockedSecret({ to: me.publicKey }));
    const stale = { ...note(lockedSecret({ to: other.publicKey, from: me.publicKey })), witness: '{"x":1}' };
    const plain = note('ef'.repeat(32));
    const foreign = note(lockedSecret({ to: other.publicKey }));
    const [a, b, c, d] = withWitnesses([mine, stale, plain, foreign], me);
    expect(c).toBe(plain);
    expect(d).toBe(foreign);
    for (const signed of [a!, b!]) {
      const { signatures } = parseWitness(signed.witness);
      expect(signatures).toHaveLength(1);
      expect(
        schnorr.verify(
          hex(signatures[0]!, 'sig', 64),
          messageDigest(signed.secret),
          hex(xOnly(hexOf(me)), 'key', 32),
        ),
      ).toBe(true);
    }
  });
});
