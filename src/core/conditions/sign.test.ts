/**
 * NUT-11/14 signing against the spec's vectors (`../shared/vectors/nut11.json`): the SIG_ALL messages
 * and their hashes, every signature of every valid vector verifying on the message this module builds,
 * and what this module signs verifying (and failing on another message or key), also under the mint's
 * own rules (`planLocks` + `checkLock`). The mint's verdicts on the vectors are `verify.test.ts`'s.
 */
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { nut11Vectors as vectors } from '../../test-support/nut11-vectors.js';
import { nobleCurve } from '../crypto/noble.js';
import { isLancashError } from '../errors.js';
import { htlcSecret, p2pkSecret, parseWellKnownSecret } from './secret.js';
import {
  encodeWitness,
  htlcHash,
  messageDigest,
  p2pkPublicKey,
  p2pkWitness,
  sigAllMessage,
  signInputs,
  signSigAll,
  signWitness,
  xOnly,
} from './sign.js';
import { checkLock, planLocks } from './verify.js';

/** Every key a vector's secret names (`data` when P2PK, `pubkeys`, `refund`), as x-only hex. */
function keysOf(secret: string): string[] {
  const s = parseWellKnownSecret(secret)!;
  return [...(s.kind === 'P2PK' ? [s.data] : []), ...s.tags.pubkeys, ...s.tags.refund].map(xOnly);
}

const signatures = (witness: string | undefined): string[] =>
  (JSON.parse(witness ?? '{"signatures":[]}') as { signatures: string[] }).signatures;

const verifies = (signature: string, message: string, publicKey: string): boolean =>
  schnorr.verify(hexToBytes(signature), messageDigest(message), hexToBytes(xOnly(publicKey)));

/** True when some key of `secret` made `signature` on `message`. */
const bySomeKey = (signature: string, message: string, secret: string): boolean =>
  keysOf(secret).some((k) => schnorr.verify(hexToBytes(signature), messageDigest(message), hexToBytes(k)));

const SECRET_ONE = `${'00'.repeat(31)}01`;
/** Private key 1; its public key is the generator G, which the vectors use as a `pubkeys` entry. */
const G = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
const alice = `${'11'.repeat(32)}`;
const bob = `${'22'.repeat(32)}`;

describe('NUT-11 signing: spec vectors', () => {
  it('builds the SIG_ALL message of a swap and of a melt exactly as the spec', () => {
    for (const v of vectors.sig_all_msg_to_sign) {
      const msg = sigAllMessage(v.request.inputs, v.request.outputs, v.request.quote);
      expect(msg, v.name).toBe(v.msg_to_sign);
      expect(bytesToHex(messageDigest(msg)), v.name).toBe(v.msg_hash_hex);
    }
  });

  it('every signature of every valid SIG_INPUTS vector verifies on SHA256 of the secret by a key it names', () => {
    const valid = vectors.proofs.filter((v) => v.expected_valid === true);
    expect(valid.length).toBeGreaterThanOrEqual(5);
    for (const v of valid)
      for (const s of signatures(v.proof.witness))
        expect(bySomeKey(s, v.proof.secret, v.proof.secret), v.name).toBe(true);
    // And the spec's "signature on a different secret" does not.
    const wrong = vectors.proofs.find((v) => v.name === 'sig_inputs_signature_on_different_secret')!;
    expect(bySomeKey(signatures(wrong.proof.witness)[0]!, wrong.proof.secret, wrong.proof.secret)).toBe(
      false,
    );
  });

  it('every signature of every valid SIG_ALL request verifies on the message built here, by a key it names', () => {
    const valid = vectors.sig_all_requests.filter((v) => v.expected_valid);
    expect(valid.length).toBeGreaterThanOrEqual(6);
    for (const v of valid) {
      const [first] = v.request.inputs;
      const msg = sigAllMessage(v.request.inputs, v.request.outputs, v.request.quote);
      const sigs = signatures(first!.witness);
      expect(sigs.length, v.name).toBeGreaterThan(0);
      for (const s of sigs) expect(bySomeKey(s, msg, first!.secret), v.name).toBe(true);
      // Without the melt's quote id (or with another output order) the message is another one.
      const altered = v.request.quote
        ? sigAllMessage(v.request.inputs, v.request.outputs)
        : sigAllMessage(v.request.inputs, [...v.request.outputs, v.request.outputs[0]!]);
      for (const s of sigs) expect(bySomeKey(s, altered, first!.secret), v.name).toBe(false);
    }
  });

  it('hashes an HTLC preimage as the spec (SHA256 of its 32 bytes)', () => {
    const htlc = vectors.sig_all_requests.find((v) => v.name === 'swap_sig_all_htlc_pubkey_valid')!;
    const input = htlc.request.inputs[0]!;
    const { preimage } = JSON.parse(input.witness!) as { preimage: string };
    expect(preimage).toBe(SECRET_ONE);
    expect(htlcHash(preimage)).toBe((JSON.parse(input.secret) as [string, { data: string }])[1].data);
  });
});

describe('NUT-11 signing: what this module signs', () => {
  const secret = '["P2PK",{"nonce":"00","data":"02aa","tags":[["sigflag","SIG_INPUTS"]]}]';

  it('derives the compressed key NUT-11 secrets carry, and its x-only form', () => {
    expect(p2pkPublicKey(SECRET_ONE)).toBe(G);
    expect(p2pkPublicKey(hexToBytes(SECRET_ONE))).toBe(G);
    expect(xOnly(G)).toBe(G.slice(2));
    expect(xOnly(G.replace(/^02/, '03').toUpperCase())).toBe(G.slice(2));
  });

  it('signs SHA256(message) with BIP-340: verifies with its key, not on another message or key', () => {
    const sig = signWitness(secret, alice);
    expect(sig).toMatch(/^[0-9a-f]{128}$/);
    expect(verifies(sig, secret, p2pkPublicKey(alice))).toBe(true);
    expect(verifies(sig, `${secret} `, p2pkPublicKey(alice))).toBe(false);
    expect(verifies(sig, secret, p2pkPublicKey(bob))).toBe(false);
    // The raw message is not what is signed: its hash is.
    expect(
      schnorr.verify(
        hexToBytes(sig),
        new TextEncoder().encode(secret),
        hexToBytes(xOnly(p2pkPublicKey(alice))),
      ),
    ).toBe(false);
  });

  it('writes the witness JSON of NUT-11 and NUT-14, adding co-signers to earlier signatures', () => {
    const one = p2pkWitness({ secret }, alice);
    expect(Object.keys(JSON.parse(one))).toEqual(['signatures']);
    const two = JSON.parse(p2pkWitness({ secret, witness: one }, [bob])) as { signatures: string[] };
    expect(two.signatures).toHaveLength(2);
    expect(two.signatures[0]).toBe(signatures(one)[0]);
    expect(verifies(two.signatures[1]!, secret, p2pkPublicKey(bob))).toBe(true);
    // A witness kept as an object (as cashu-ts keeps it before sending) is read the same.
    expect(signatures(p2pkWitness({ secret, witness: JSON.parse(one) }, bob))).toHaveLength(2);

    const htlc = JSON.parse(p2pkWitness({ secret }, [alice, bob], { preimage: SECRET_ONE }));
    expect(Object.keys(htlc)).toEqual(['preimage', 'signatures']);
    expect(htlc.preimage).toBe(SECRET_ONE);
    // A later co-signer keeps the preimage without repeating it.
    const more = JSON.parse(p2pkWitness({ secret, witness: encodeWitness(htlc) }, bob));
    expect(more).toMatchObject({ preimage: SECRET_ONE });
    expect(more.signatures).toHaveLength(3);
    // A preimage only (the hash lock without keys).
    expect(JSON.parse(p2pkWitness({ secret }, [], { preimage: SECRET_ONE }))).toEqual({
      preimage: SECRET_ONE,
      signatures: [],
    });
  });

  it('signs each input on its own secret (SIG_INPUTS), leaving the given proofs unchanged', () => {
    const proofs = [
      { amount: 1, secret, C: G },
      { amount: 2, secret: secret.replace('"00"', '"01"'), C: G },
    ];
    const signed = signInputs(proofs, alice);
    expect(proofs.every((p) => !('witness' in p))).toBe(true);
    signed.forEach((p, i) => {
      expect(p.amount).toBe(proofs[i]!.amount);
      const [sig] = signatures(p.witness);
      expect(verifies(sig!, proofs[i]!.secret, p2pkPublicKey(alice))).toBe(true);
    });
  });

  it('signs SIG_ALL once, on the first input, over all inputs, outputs and the melt quote', () => {
    const inputs = [
      { amount: 1, id: '00', secret, C: G },
      { amount: 1, id: '00', secret: secret.replace('"00"', '"02"'), C: G },
    ];
    const outputs = [{ amount: 2, id: '00', B_: G }];
    const swap = signSigAll(inputs, outputs, [alice, bob]);
    expect(swap[1]).toBe(inputs[1]);
    const sigs = signatures(swap[0]!.witness);
    expect(sigs).toHaveLength(2);
    const msg = sigAllMessage(inputs, outputs);
    expect(msg).toBe(`${inputs[0]!.secret}${G}${inputs[1]!.secret}${G}2${G}`);
    expect(verifies(sigs[0]!, msg, p2pkPublicKey(alice))).toBe(true);
    expect(verifies(sigs[1]!, msg, p2pkPublicKey(bob))).toBe(true);

    const melt = signSigAll(inputs, outputs, alice, { quoteId: 'q-1' });
    expect(verifies(signatures(melt[0]!.witness)[0]!, `${msg}q-1`, p2pkPublicKey(alice))).toBe(true);
  });

  it('refuses a malformed key, preimage or witness with a stable code', () => {
    const kind = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        if (isLancashError(e)) return e.kind;
        throw e;
      }
      return 'none';
    };
    expect(kind(() => signWitness(secret, 'zz'))).toBe('InvalidHex');
    expect(kind(() => signWitness(secret, '00'.repeat(32)))).toBe('InvalidScalar');
    expect(kind(() => signWitness(secret, new Uint8Array(31)))).toBe('InvalidScalar');
    expect(kind(() => p2pkWitness({ secret }, alice, { preimage: 'abc' }))).toBe('InvalidHex');
    expect(kind(() => p2pkWitness({ secret, witness: '{' }, alice))).toBe('InvalidInput');
    expect(kind(() => p2pkWitness({ secret, witness: 7 }, alice))).toBe('InvalidInput');
    expect(kind(() => xOnly(`04${G.slice(2)}`))).toBe('InvalidPoint');
    expect(kind(() => signSigAll([], [], alice))).toBe('EmptyRequest');
  });
});

describe("what this module signs, the mint's rules accept (verify.ts)", () => {
  const now = Math.floor(Date.now() / 1000);
  const C = G;
  /** The mint's verdict on `inputs` (and `outputs`, for SIG_ALL): undefined when every lock opens. */
  const verdict = (
    inputs: readonly { secret: string; C: string; witness?: string }[],
    ctx: { outputs?: { amount: number; B_: string }[]; quote?: string } = {},
  ): string | undefined => {
    for (const l of planLocks(inputs, { now, ...ctx })) {
      const refused = l === null ? undefined : checkLock(nobleCurve, l);
      if (refused !== undefined) return refused;
    }
    return undefined;
  };

  it('SIG_INPUTS and 2-of-2 multisig: accepted with the keys, refused with one or another key', () => {
    const secret = p2pkSecret({ pubkey: p2pkPublicKey(alice) });
    expect(verdict(signInputs([{ secret, C }], alice))).toBeUndefined();
    expect(verdict(signInputs([{ secret, C }], bob))).toMatch(/not enough valid signatures/);
    const two = p2pkSecret({ pubkey: p2pkPublicKey(alice), pubkeys: [p2pkPublicKey(bob)], n_sigs: 2 });
    expect(verdict(signInputs([{ secret: two, C }], [alice, bob]))).toBeUndefined();
    expect(verdict(signInputs([{ secret: two, C }], alice))).toMatch(/not enough valid signatures/);
    // Signed one party at a time, as co-signers do.
    expect(verdict(signInputs(signInputs([{ secret: two, C }], alice), bob))).toBeUndefined();
  });

  it('SIG_ALL for a swap and a melt: accepted over the outputs and quote signed, refused over others', () => {
    const o = { pubkey: p2pkPublicKey(alice), sigflag: 'SIG_ALL' as const };
    const inputs = [
      { secret: p2pkSecret(o), C },
      { secret: p2pkSecret(o), C },
    ];
    const outputs = [
      { amount: 1, B_: G },
      { amount: 2, B_: G },
    ];
    const swap = signSigAll(inputs, outputs, alice);
    expect(verdict(swap, { outputs })).toBeUndefined();
    expect(verdict(swap, { outputs: [...outputs].reverse() })).toMatch(/not enough valid signatures/);
    const melt = signSigAll(inputs, outputs, alice, { quoteId: 'q1' });
    expect(verdict(melt, { outputs, quote: 'q1' })).toBeUndefined();
    expect(verdict(melt, { outputs, quote: 'q2' })).toMatch(/not enough valid signatures/);
  });

  it('HTLC: the preimage and the lock key open it; locktime passed, the refund key alone does', () => {
    const hash = htlcHash(SECRET_ONE);
    const secret = htlcSecret({ hash, pubkeys: [p2pkPublicKey(alice)] });
    expect(verdict(signInputs([{ secret, C }], alice, { preimage: SECRET_ONE }))).toBeUndefined();
    expect(verdict(signInputs([{ secret, C }], bob, { preimage: SECRET_ONE }))).toMatch(/not enough/);
    const refundable = htlcSecret({
      hash,
      pubkeys: [p2pkPublicKey(alice)],
      locktime: now - 60,
      refund: [p2pkPublicKey(bob)],
    });
    expect(verdict(signInputs([{ secret: refundable, C }], bob))).toBeUndefined();
  });
});
