/**
 * The mint's NUT-11/14 verdicts: the spec's vectors (`../shared/vectors/nut11.json`, every proof and
 * SIG_ALL request with a verdict) through `planLocks` + `checkLock`, then the rules one by one
 * (multisig thresholds, locktime and refund, HTLC preimage, SIG_ALL outputs, bounds, invalid points),
 * with property tests where an invariant exists.
 */
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nut11Vectors as vectors } from '../../test-support/nut11-vectors.js';
import { nobleCurve } from '../crypto/noble.js';
import { type ErrorName, isLancashError } from '../errors.js';
import { htlcSecret, p2pkSecret } from './secret.js';
import { htlcHash, messageDigest, p2pkPublicKey, p2pkWitness, sigAllMessage, signSigAll } from './sign.js';
import { checkLock, type LockedInput, MAX_SCHNORR_CHECKS, planLocks, type SpendContext } from './verify.js';

const NOW = Math.floor(Date.now() / 1000);

/** The verdict the mint gives: `ok`, or the refusal's error name and reason. */
function verdict(inputs: readonly LockedInput[], ctx: Partial<SpendContext> = {}): string {
  try {
    const plan = planLocks(inputs, { now: NOW, ...ctx });
    for (const l of plan) {
      const why = l === null ? undefined : checkLock(nobleCurve, l);
      if (why !== undefined) return `ProofVerificationFailed: ${why}`;
    }
    return 'ok';
  } catch (e) {
    if (isLancashError(e)) return `${e.kind}: ${e.message}`;
    throw e;
  }
}

function refusedWith(v: string, name: ErrorName): void {
  expect(v.split(':')[0]).toBe(name);
}

describe('nut11.json vectors', () => {
  const proofs = vectors.proofs.filter((c) => c.expected_valid !== undefined);
  it('has its cases', () => {
    expect(proofs.length).toBe(8);
    expect(vectors.sig_all_requests.length).toBe(9);
  });
  it.each(proofs.map((c) => [c.name, c] as const))('proof %s', (_n, c) => {
    expect(verdict([c.proof]) === 'ok').toBe(c.expected_valid);
  });
  it.each(vectors.sig_all_requests.map((c) => [c.name, c] as const))('SIG_ALL request %s', (_n, c) => {
    const r = c.request;
    const v = verdict(r.inputs, { outputs: r.outputs, ...(r.quote !== undefined ? { quote: r.quote } : {}) });
    expect(v === 'ok', v).toBe(c.expected_valid);
  });
  it.each(vectors.sig_all_msg_to_sign.map((c) => [c.name, c] as const))('SIG_ALL digest %s', (_n, c) => {
    const r = c.request;
    const [lock] = planLocks(r.inputs, {
      now: NOW,
      outputs: r.outputs,
      ...(r.quote !== undefined ? { quote: r.quote } : {}),
    });
    expect(lock?.digest).toBe(c.msg_hash_hex);
  });
});

const keys = Array.from({ length: 4 }, (_, i) => bytesToHex(new Uint8Array(32).fill(i + 1)));
const pub = keys.map((k) => p2pkPublicKey(k));
const C = '02698c4e2b5f9534cd0687d87513c759790cf829aa5739184a3e3735471fbda904';
const input = (secret: string, signers: string[] = [], o: { preimage?: string } = {}): LockedInput => ({
  secret,
  C,
  ...(signers.length > 0 || o.preimage ? { witness: p2pkWitness({ secret }, signers, o) } : {}),
});

describe('P2PK', () => {
  it('opens with the right key, refuses a wrong key or no witness', () => {
    const s = p2pkSecret({ pubkey: pub[0]! });
    expect(verdict([input(s, [keys[0]!])])).toBe('ok');
    refusedWith(verdict([input(s, [keys[1]!])]), 'ProofVerificationFailed');
    expect(verdict([input(s)])).toMatch(/no witness/);
  });

  it('n-of-m: opens exactly when n distinct locking keys signed (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.subarray([0, 1, 2, 3]),
        fc.boolean(),
        (n, signers, twice) => {
          const s = p2pkSecret({ pubkey: pub[0]!, pubkeys: [pub[1]!, pub[2]!], n_sigs: n });
          // key 3 is no locking key; a signer signing twice still counts once.
          const signing = signers.map((i) => keys[i]!);
          const w = input(s, twice && signing.length > 0 ? [...signing, signing[0]!] : signing);
          const distinct = signers.filter((i) => i < 3).length;
          expect(verdict([w]) === 'ok').toBe(distinct >= n);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('locktime: before it only the locking keys; after it the refund keys too (n_sigs_refund)', () => {
    const past = NOW - 10;
    const future = NOW + 3600;
    const lock = (locktime: number) =>
      p2pkSecret({ pubkey: pub[0]!, locktime, refund: [pub[1]!, pub[2]!], n_sigs_refund: 2 });
    expect(verdict([input(lock(future), [keys[0]!])])).toBe('ok');
    refusedWith(verdict([input(lock(future), [keys[1]!, keys[2]!])]), 'ProofVerificationFailed');
    expect(verdict([input(lock(past), [keys[1]!, keys[2]!])])).toBe('ok');
    refusedWith(verdict([input(lock(past), [keys[1]!])]), 'ProofVerificationFailed');
    expect(verdict([input(lock(past), [keys[0]!])])).toBe('ok');
  });

  it('an expired lock without refund keys is anyone-can-spend (NUT-11)', () => {
    const s = p2pkSecret({ pubkey: pub[0]!, locktime: NOW - 1 });
    expect(verdict([input(s)])).toBe('ok');
    expect(planLocks([input(s)], { now: NOW })).toEqual([null]);
  });

  it('a key that is no point refuses the lock; a garbage signature just does not verify', () => {
    // x = 5 has no y on secp256k1.
    const notPoint = `02${'0'.repeat(63)}5`;
    expect(() => secp256k1.Point.fromHex(notPoint)).toThrow();
    const s = p2pkSecret({ pubkey: pub[0]!, pubkeys: [notPoint] });
    expect(verdict([input(s, [keys[0]!])])).toMatch(/not a valid secp256k1 point/);
    const t = p2pkSecret({ pubkey: pub[0]! });
    for (const sig of ['ff'.repeat(64), '00'.repeat(64)]) {
      refusedWith(
        verdict([{ secret: t, C, witness: JSON.stringify({ signatures: [sig] }) }]),
        'ProofVerificationFailed',
      );
    }
  });

  it('bounds: malformed witnesses and too many checks are refused before any crypto', () => {
    const s = p2pkSecret({ pubkey: pub[0]! });
    refusedWith(verdict([{ secret: s, C, witness: '{' }]), 'WitnessMalformed');
    refusedWith(
      verdict([
        { secret: s, C, witness: JSON.stringify({ signatures: Array(10_000).fill('ab'.repeat(64)) }) },
      ]),
      'WitnessMalformed',
    );
    // 16 signatures against 16 keys per input, over enough inputs to pass the bound.
    const many = Array.from({ length: 15 }, (_, i) =>
      p2pkPublicKey(bytesToHex(new Uint8Array(32).fill(i + 10))),
    );
    const sig = 'ab'.repeat(64);
    const witness = JSON.stringify({ signatures: Array(16).fill(sig) });
    const heavy = Array.from({ length: Math.ceil(MAX_SCHNORR_CHECKS / 256) + 1 }, () => ({
      secret: p2pkSecret({ pubkey: pub[0]!, pubkeys: many }),
      C,
      witness,
    }));
    refusedWith(verdict(heavy), 'SignatureChecksExceeded');
  });
});

describe('SIG_ALL', () => {
  const outputs = [{ amount: 2, B_: C }];
  const s = () => p2pkSecret({ pubkey: pub[0]!, sigflag: 'SIG_ALL', nonce: 'same' });

  it('the first input signs inputs and outputs; changed outputs are refused', () => {
    // Same conditions, different nonces: the two secrets differ only in their nonce.
    const two = [
      { secret: p2pkSecret({ pubkey: pub[0]!, sigflag: 'SIG_ALL' }), C },
      { secret: p2pkSecret({ pubkey: pub[0]!, sigflag: 'SIG_ALL' }), C },
    ];
    const signed = signSigAll(two, outputs, keys[0]!);
    expect(verdict(signed, { outputs })).toBe('ok');
    refusedWith(verdict(signed, { outputs: [{ amount: 1, B_: C }] }), 'ProofVerificationFailed');
    refusedWith(verdict(signed, { outputs, quote: 'q' }), 'ProofVerificationFailed');
  });

  it('refuses inputs whose conditions differ, and SIG_ALL where there are no outputs', () => {
    const other = { secret: p2pkSecret({ pubkey: pub[1]!, sigflag: 'SIG_ALL' }), C };
    const signed = signSigAll([{ secret: s(), C }, other], outputs, keys[0]!);
    expect(verdict(signed, { outputs })).toMatch(/same spending conditions/);
    const plain = signSigAll(
      [
        { secret: s(), C },
        { secret: 'plain', C },
      ],
      outputs,
      keys[0]!,
    );
    expect(verdict(plain, { outputs })).toMatch(/same spending conditions/);
    refusedWith(verdict(signSigAll([{ secret: s(), C }], outputs, keys[0]!)), 'SigAllNotAllowed');
  });

  it('the melt message ends with the quote id', () => {
    const ins = signSigAll([{ secret: s(), C }], [], keys[0]!, { quoteId: 'quote-1' });
    expect(verdict(ins, { outputs: [], quote: 'quote-1' })).toBe('ok');
    refusedWith(verdict(ins, { outputs: [], quote: 'quote-2' }), 'ProofVerificationFailed');
    expect(planLocks(ins, { now: NOW, outputs: [], quote: 'quote-1' })[0]?.digest).toBe(
      bytesToHex(messageDigest(sigAllMessage(ins, [], 'quote-1'))),
    );
  });
});

describe('HTLC', () => {
  const preimage = '11'.repeat(32);
  const hash = htlcHash(preimage);

  it('opens with the right preimage alone, refuses a wrong or missing one', () => {
    const s = htlcSecret({ hash });
    expect(verdict([input(s, [], { preimage })])).toBe('ok');
    expect(verdict([input(s, [], { preimage: '22'.repeat(32) })])).toMatch(/does not match/);
    expect(verdict([input(s)])).toMatch(/no witness/);
  });

  it('with pubkeys: preimage and signature both needed; after locktime the refund key alone', () => {
    const s = htlcSecret({ hash, pubkeys: [pub[0]!], locktime: NOW + 3600, refund: [pub[1]!] });
    expect(verdict([input(s, [keys[0]!], { preimage })])).toBe('ok');
    refusedWith(verdict([input(s, [], { preimage })]), 'ProofVerificationFailed');
    expect(verdict([input(s, [keys[0]!], { preimage: '22'.repeat(32) })])).toMatch(/does not match/);
    expect(verdict([input(s, [keys[1]!])])).toMatch(/no preimage/);
    const expired = htlcSecret({ hash, pubkeys: [pub[0]!], locktime: NOW - 1, refund: [pub[1]!] });
    expect(verdict([input(expired, [keys[1]!])])).toBe('ok');
    expect(verdict([input(expired, [keys[0]!], { preimage })])).toBe('ok');
    refusedWith(verdict([input(expired, [keys[2]!])]), 'ProofVerificationFailed');
  });

  it('signatures made with noble directly verify', () => {
    const s = p2pkSecret({ pubkey: pub[3]! });
    const sig = bytesToHex(schnorr.sign(messageDigest(s), Uint8Array.from(Buffer.from(keys[3]!, 'hex'))));
    expect(verdict([{ secret: s, C, witness: JSON.stringify({ signatures: [sig] }) }])).toBe('ok');
  });
});
