/**
 * NUT-10/11/14 spending conditions enforced by the mint engine (both mints use it), on every dialect:
 * notes the mint blind-signed with locked secrets are redeemed with the right witness and refused
 * otherwise, leaving nothing written; hostile secrets and witnesses get a 4xx with a stable code
 * before any crypto; the Schnorr work runs in the worker pool as in the servers.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesToHex, utf8 } from '../core/bytes.js';
import { htlcSecret, p2pkSecret } from '../core/conditions/secret.js';
import { htlcHash, p2pkPublicKey, p2pkWitness, signSigAll } from '../core/conditions/sign.js';
import { MAX_SCHNORR_CHECKS } from '../core/conditions/verify.js';
import { defaultCurve } from '../core/crypto/index.js';
import { hashToCurve } from '../core/crypto/nut00.js';
import { ERRORS } from '../core/errors.js';
import type { Proof } from '../core/protocol/cashu.js';
import type { Store } from '../store/index.js';
import { DIALECTS, freshStore } from '../test-support/dialects.js';
import { mintRowCounts as rowCounts } from '../test-support/mint-rows.js';
import { issueSecrets, makeOutputs } from '../test-support/notes.js';
import { codeOf, refusalOf } from '../test-support/refusals.js';
import type { MintCrypto } from './crypto.js';
import { createCryptoPool } from './crypto-pool.js';
import { Mint } from './mint.js';

const curve = defaultCurve();
const keys = Array.from({ length: 4 }, () => bytesToHex(randomBytes(32)));
const pub = keys.map((k) => p2pkPublicKey(k));
const code = (name: keyof typeof ERRORS) => ERRORS[name].code;

const signed = (p: Proof, signers: string[], o: { preimage?: string } = {}): Proof => ({
  ...p,
  witness: p2pkWitness(p, signers, o),
});

describe.each(DIALECTS)('spending conditions on %s', (dialect) => {
  let store: Store;
  let mint: Mint;
  let now = Date.UTC(2026, 0, 1);
  let pool: MintCrypto | undefined;

  beforeEach(async () => {
    now = Date.UTC(2026, 0, 1);
    store = await freshStore(dialect);
    mint = await Mint.open({ store, unit: 'eur', curve, clock: () => now });
  });
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
    await store.close();
  });

  const outputs = (amounts: number[]) =>
    makeOutputs(curve, mint.keysets.current().id, amounts).map((o) => o.message);

  /** A swap of `inputs` into one note of their value; refused ones must change nothing. */
  async function refusedCode(inputs: unknown[], outs = outputs(inputs.map(() => 4))): Promise<number> {
    const before = await rowCounts(store);
    const c = await codeOf(mint.swap(inputs, outs));
    expect(await rowCounts(store)).toEqual(before);
    return c;
  }

  it('P2PK: the right key spends; a wrong key or no witness is refused; checkstate shows the witness', async () => {
    const [note] = await issueSecrets(curve, mint, [p2pkSecret({ pubkey: pub[0]! })]);
    expect(await refusedCode([note])).toBe(code('ProofVerificationFailed'));
    expect(await refusedCode([signed(note!, [keys[1]!])])).toBe(code('ProofVerificationFailed'));
    const spend = signed(note!, [keys[0]!]);
    await expect(mint.swap([spend], outputs([4]))).resolves.toHaveLength(1);
    const [state] = await mint.checkState([bytesToHex(hashToCurve(curve, utf8(spend.secret)))]);
    expect(state).toMatchObject({ state: 'SPENT', witness: spend.witness });
  });

  it('multisig 2-of-3: one signature is refused, two distinct keys spend', async () => {
    const secret = p2pkSecret({ pubkey: pub[0]!, pubkeys: [pub[1]!, pub[2]!], n_sigs: 2 });
    const [note] = await issueSecrets(curve, mint, [secret]);
    expect(await refusedCode([signed(note!, [keys[2]!])])).toBe(code('ProofVerificationFailed'));
    expect(await refusedCode([signed(note!, [keys[2]!, keys[2]!])])).toBe(code('ProofVerificationFailed'));
    await expect(mint.swap([signed(note!, [keys[2]!, keys[0]!])], outputs([4]))).resolves.toHaveLength(1);
  });

  it('locktime: before it the refund keys are refused, after it they spend; the owner always can', async () => {
    const locktime = Math.floor(now / 1000) + 3600;
    const secret = () =>
      p2pkSecret({ pubkey: pub[0]!, locktime, refund: [pub[1]!, pub[2]!], n_sigs_refund: 2 });
    const [a, b] = await issueSecrets(curve, mint, [secret(), secret()]);
    expect(await refusedCode([signed(a!, [keys[1]!, keys[2]!])])).toBe(code('ProofVerificationFailed'));
    await expect(mint.swap([signed(b!, [keys[0]!])], outputs([4]))).resolves.toHaveLength(1);
    now += 3601 * 1000;
    expect(await refusedCode([signed(a!, [keys[1]!])])).toBe(code('ProofVerificationFailed'));
    await expect(mint.swap([signed(a!, [keys[1]!, keys[2]!])], outputs([4]))).resolves.toHaveLength(1);
  });

  it('HTLC: the right preimage (and the pubkey signature) spends; a wrong preimage is refused', async () => {
    const preimage = bytesToHex(randomBytes(32));
    const [note] = await issueSecrets(curve, mint, [
      htlcSecret({ hash: htlcHash(preimage), pubkeys: [pub[0]!] }),
    ]);
    const wrong = signed(note!, [keys[0]!], { preimage: bytesToHex(randomBytes(32)) });
    expect((await refusalOf(mint.swap([wrong], outputs([4])))).info).toMatchObject({
      reason: 'the preimage does not match the hash lock',
    });
    expect(await refusedCode([signed(note!, [keys[1]!], { preimage })])).toBe(
      code('ProofVerificationFailed'),
    );
    await expect(mint.swap([signed(note!, [keys[0]!], { preimage })], outputs([4]))).resolves.toHaveLength(1);
  });

  it('SIG_ALL: signs the swap’s outputs; other outputs are refused; no outputs at all is refused', async () => {
    const secret = () => p2pkSecret({ pubkey: pub[0]!, sigflag: 'SIG_ALL' });
    const notes = await issueSecrets(curve, mint, [secret(), secret()]);
    const outs = outputs([8]);
    const ins = signSigAll(notes, outs, keys[0]!);
    expect(await refusedCode(ins, outputs([8]))).toBe(code('ProofVerificationFailed'));
    const before = await rowCounts(store);
    expect(await codeOf(mint.prepareInputs(ins))).toBe(code('SigAllNotAllowed'));
    expect(await rowCounts(store)).toEqual(before);
    await expect(mint.swap(ins, outs)).resolves.toHaveLength(1);
  });

  it('prepare/commit (receiving server, gateway intake): a signed P2PK note is taken, its witness kept; SIG_ALL is refused', async () => {
    const [note, sigAll] = await issueSecrets(curve, mint, [
      p2pkSecret({ pubkey: pub[0]! }),
      p2pkSecret({ pubkey: pub[0]!, sigflag: 'SIG_ALL' }),
    ]);
    expect(await codeOf(mint.prepareInputs([note]))).toBe(code('ProofVerificationFailed'));
    const spend = signed(note!, [keys[0]!]);
    const prepared = await mint.prepareInputs([spend]);
    await store.transaction((trx) => mint.commitInputs(trx, prepared, 'receive-1', 'spent'));
    expect(await mint.checkState(prepared.Ys)).toEqual([
      { Y: prepared.Ys[0], state: 'SPENT', witness: spend.witness },
    ]);
    const r = await refusalOf(mint.prepareInputs([signed(sigAll!, [keys[0]!])]));
    expect(r.code).toBe(code('SigAllNotAllowed'));
    expect(r.message).toMatch(/swap/);
  });

  it('hostile secrets and witnesses: a 4xx with a stable code, nothing written, no crypto', async () => {
    const [locked] = await issueSecrets(curve, mint, [p2pkSecret({ pubkey: pub[0]! })]);
    const [plain] = await issueSecrets(curve, mint, [bytesToHex(randomBytes(32))]);
    const sig = 'ab'.repeat(64);
    const notPoint = `02${'0'.repeat(63)}5`; // x = 5 has no y on secp256k1
    const cases: [string, unknown, number][] = [
      [
        'malformed secret',
        { ...plain!, secret: '["P2PK",{"nonce":"00","data":"02"}]' },
        code('ConditionMalformed'),
      ],
      [
        'oversized tags',
        {
          ...plain!,
          secret: JSON.stringify(['P2PK', { nonce: 'n', data: pub[0], tags: [['x', 'y'.repeat(500)]] }]),
        },
        code('ConditionMalformed'),
      ],
      ['witness not JSON', { ...locked!, witness: '{"signatures":' }, code('WitnessMalformed')],
      ['signature not hex', { ...locked!, witness: '{"signatures":["zz"]}' }, code('WitnessMalformed')],
      [
        '10^4 signatures',
        { ...locked!, witness: JSON.stringify({ signatures: Array(10_000).fill(sig) }) },
        code('InvalidInput'),
      ],
      [
        '17 signatures',
        { ...locked!, witness: JSON.stringify({ signatures: Array(17).fill(sig) }) },
        code('WitnessMalformed'),
      ],
      [
        'signature out of range',
        { ...locked!, witness: JSON.stringify({ signatures: ['ff'.repeat(64)] }) },
        code('ProofVerificationFailed'),
      ],
    ];
    for (const [name, input, expected] of cases) {
      expect(await refusedCode([input]), name).toBe(expected);
    }
    // A locking key that is no point: the secret was blind-signed, its lock can never open.
    const [bad] = await issueSecrets(curve, mint, [p2pkSecret({ pubkey: pub[0]!, pubkeys: [notPoint] })]);
    const r = await refusalOf(mint.swap([signed(bad!, [keys[0]!])], outputs([4])));
    expect(r.code).toBe(code('ProofVerificationFailed'));
    expect(r.status).toBe(400);
    // Each input could cost 16 × 13 verifications (13 keys fill the 1 KiB secret): past the bound,
    // refused before any crypto.
    const many = Array.from({ length: 12 }, () => p2pkPublicKey(bytesToHex(randomBytes(32))));
    const n = Math.ceil(MAX_SCHNORR_CHECKS / (16 * 13)) + 1;
    const heavy = await issueSecrets(
      curve,
      mint,
      Array.from({ length: n }, () => p2pkSecret({ pubkey: pub[0]!, pubkeys: many })),
    );
    const witness = JSON.stringify({ signatures: Array(16).fill(sig) });
    expect(await refusedCode(heavy.map((p) => ({ ...p, witness })))).toBe(code('SignatureChecksExceeded'));
  });

  it('the worker pool verifies the signatures, as the servers run it', async () => {
    pool = createCryptoPool({ size: 2 });
    mint = await Mint.open({ store, unit: 'eur', curve, crypto: pool, clock: () => now });
    const secrets = Array.from({ length: 6 }, () => p2pkSecret({ pubkey: pub[3]! }));
    const notes = await issueSecrets(curve, mint, secrets);
    const good = notes.map((p) => signed(p, [keys[3]!]));
    const bad = [...good.slice(0, 5), signed(notes[5]!, [keys[0]!])];
    const r = await refusalOf(mint.swap(bad, outputs([8, 8, 8])));
    expect(r.info).toMatchObject({ index: 5 });
    await expect(mint.swap(good, outputs([8, 8, 8]))).resolves.toHaveLength(3);
  });
});
