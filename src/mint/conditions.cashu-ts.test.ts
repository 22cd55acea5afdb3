/**
 * NUT-10/11/14 spending conditions with `@cashu/cashu-ts` 4 as the client, against real processes: the
 * wide bank's mint and the gateway's local mint (funded with local notes through a job 2, as it has no
 * NUT-04). On each: P2PK send and receive (a third wallet refused), SIG_ALL (and a signature over other
 * outputs refused), 2-of-2 multisig, locktime with a refund key (before it only the main key spends,
 * after it the refund key does), HTLC with the right and a wrong preimage, and NUT-07 checkstate
 * answering the witness of a spent locked note; on the wide bank also a SIG_ALL melt. Every refusal
 * leaves the notes unspent, and both mints' audits balance after each test. On every dialect.
 */
import {
  type Proof as CashuProof,
  createHTLCHash,
  getEncodedToken,
  P2PKBuilder,
  type Wallet,
} from '@cashu/cashu-ts';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { p2pkPublicKey, signInputs, signSigAll } from '../core/conditions/sign.js';
import {
  cashuWallet,
  fundedAtBank,
  fundedAtLocalMint,
  cashuRefusal as refusal,
} from '../test-support/cashu-ts-mints.js';
import { DIALECTS } from '../test-support/dialects.js';
import { type ProcessNet, startProcessNet } from '../test-support/gateway-process.js';
import { createFakeLightning } from '../wide-bank/lightning/fake.js';

const total = (ps: readonly { amount: unknown }[]) => ps.reduce((n, p) => n + Number(p.amount), 0);

/** A wallet's key pair: the private key hex and the 33-byte compressed public key NUT-11 secrets carry. */
function keyPair(): { priv: string; pub: string } {
  const priv = bytesToHex(schnorr.utils.randomSecretKey());
  return { priv, pub: p2pkPublicKey(priv) };
}

/**
 * The codes a mint gives for an unmet spending condition: Cashu 10001 (proof verification failed), or
 * lancash's own for a witness that is missing or malformed (70021).
 */
const CONDITION_REFUSED = [10001, 70021];

interface MintUnderTest {
  name: string;
  url(): string;
  /** Fresh notes of `amount` held by a new cashu-ts wallet at this mint. */
  funded(amount: number): Promise<{ wallet: Wallet; proofs: CashuProof[] }>;
}

let net: ProcessNet;

const wideBank: MintUnderTest = {
  name: 'the wide bank',
  url: () => net.bankUrl,
  funded: (amount) => fundedAtBank(net, amount),
};

const localMint: MintUnderTest = {
  name: "the gateway's local mint",
  url: () => net.lan,
  funded: (amount) => fundedAtLocalMint(net, amount),
};

describe.each(DIALECTS)('spending conditions with cashu-ts, real processes on %s', (dialect) => {
  beforeAll(async () => {
    net = await startProcessNet({ dialect });
  }, 120_000);
  // Invariants 1 and 2 after every test: refused spends moved nothing, accepted ones balanced.
  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
  });
  afterAll(async () => {
    await net?.close();
  });

  describe.each([wideBank, localMint])('on $name', (m) => {
    /** A token of `amount` locked by `p2pk`, sent from fresh notes; and the locked proofs themselves. */
    async function lockedToken(amount: number, p2pk: ReturnType<P2PKBuilder['toOptions']>) {
      const { wallet, proofs } = await m.funded(amount + 8);
      const { send } = await wallet.ops.send(amount, proofs).asP2PK(p2pk).run();
      expect(total(send)).toBe(amount);
      return { send, token: getEncodedToken({ mint: m.url(), unit: 'eur', proofs: send }) };
    }

    async function states(proofs: readonly CashuProof[]) {
      return (await (await cashuWallet(m.url())).checkProofsStates([...proofs])).map((s) => s.state);
    }

    it('P2PK: only the key holder receives; a third wallet is refused; checkstate shows the witness', async () => {
      const bob = keyPair();
      const carol = keyPair();
      const { send, token } = await lockedToken(20, new P2PKBuilder().addLockPubkey(bob.pub).toOptions());
      for (const p of send) expect(JSON.parse(p.secret)[0]).toBe('P2PK');

      const third = await cashuWallet(m.url());
      // Carol's key is not in the lock: cashu-ts signs nothing, and the mint refuses the bare notes.
      expect(CONDITION_REFUSED).toContain(await refusal(third.receive(token, { privkey: carol.priv })));
      expect(CONDITION_REFUSED).toContain(await refusal(third.receive(token)));
      // A signature by the wrong key, made by hand, is refused as well.
      const forged = signInputs(send, carol.priv);
      expect(CONDITION_REFUSED).toContain(await refusal(third.receive(forged)));
      expect(await states(send)).toEqual(send.map(() => 'UNSPENT'));

      const receiver = await cashuWallet(m.url());
      expect(total(await receiver.receive(token, { privkey: bob.priv }))).toBe(20);

      // NUT-07: the spent notes' states carry the witness they were spent with.
      const after = await receiver.checkProofsStates(send);
      expect(after.map((s) => s.state)).toEqual(send.map(() => 'SPENT'));
      for (const s of after) {
        const witness = JSON.parse(String(s.witness)) as { signatures: string[] };
        expect(witness.signatures).toHaveLength(1);
        expect(witness.signatures[0]).toMatch(/^[0-9a-f]{128}$/);
      }
    });

    it('SIG_ALL: the key holder receives with one signature over all inputs and outputs; other outputs are refused', async () => {
      const bob = keyPair();
      const { send, token } = await lockedToken(
        12,
        new P2PKBuilder().addLockPubkey(bob.pub).sigAll().toOptions(),
      );
      for (const p of send) expect(JSON.parse(p.secret)[1].tags).toContainEqual(['sigflag', 'SIG_ALL']);

      // Signed over one set of outputs, sent with another: refused (the swap goes out by hand).
      const receiver = await cashuWallet(m.url());
      const preview = await receiver.ops.receive(token).prepare();
      const outputs = [...(preview.keepOutputs ?? []), ...(preview.sendOutputs ?? [])].map((o) => ({
        amount: Number(o.blindedMessage.amount),
        id: o.blindedMessage.id,
        B_: o.blindedMessage.B_,
      }));
      expect(outputs.length).toBeGreaterThan(1); // 12 = 8 + 4: two outputs whose order can change
      const signed = signSigAll(
        preview.inputs.map((p) => ({ amount: Number(p.amount), id: p.id, secret: p.secret, C: p.C })),
        outputs,
        bob.priv,
      );
      const raw = await request(`${m.url()}/v1/swap`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: signed, outputs: [...outputs.slice(1), outputs[0]!] }),
      });
      expect(raw.statusCode).toBe(400);
      expect(CONDITION_REFUSED).toContain(((await raw.body.json()) as { code?: number }).code);
      expect(await states(send)).toEqual(send.map(() => 'UNSPENT'));

      // cashu-ts signs the SIG_ALL message itself and the mint accepts it.
      expect(total(await receiver.receive(token, { privkey: bob.priv }))).toBe(12);
      const after = await receiver.checkProofsStates(send);
      expect(after.map((s) => s.state)).toEqual(send.map(() => 'SPENT'));
    });

    it.each(['SIG_INPUTS', 'SIG_ALL'])(
      'multisig 2-of-2 (%s): one key is refused, both keys spend',
      async (flag) => {
        const bob = keyPair();
        const dave = keyPair();
        const lock = new P2PKBuilder().addLockPubkey([bob.pub, dave.pub]).requireLockSignatures(2);
        const { send, token } = await lockedToken(9, (flag === 'SIG_ALL' ? lock.sigAll() : lock).toOptions());
        expect(JSON.parse(send[0]!.secret)[1].tags).toContainEqual(['n_sigs', '2']);
        const receiver = await cashuWallet(m.url());
        expect(CONDITION_REFUSED).toContain(await refusal(receiver.receive(token, { privkey: bob.priv })));
        expect(await states(send)).toEqual(send.map(() => 'UNSPENT'));
        expect(total(await receiver.receive(token, { privkey: [bob.priv, dave.priv] }))).toBe(9);
        expect(await states(send)).toEqual(send.map(() => 'SPENT'));
      },
    );

    it('locktime: before it only the main key spends (the refund key is refused); after it the refund key spends', async () => {
      const bob = keyPair();
      const alice = keyPair();
      const now = Math.floor(Date.now() / 1000);

      const future = await lockedToken(
        7,
        new P2PKBuilder()
          .addLockPubkey(bob.pub)
          .lockUntil(now + 3600)
          .addRefundPubkey(alice.pub)
          .toOptions(),
      );
      const refunder = await cashuWallet(m.url());
      // cashu-ts knows the lock is active and does not sign with the refund key; a hand-made refund
      // signature is refused by the mint too.
      expect(CONDITION_REFUSED).toContain(
        await refusal(refunder.receive(future.token, { privkey: alice.priv })),
      );
      expect(CONDITION_REFUSED).toContain(
        await refusal(refunder.receive(signInputs(future.send, alice.priv))),
      );
      expect(await states(future.send)).toEqual(future.send.map(() => 'UNSPENT'));
      expect(total(await (await cashuWallet(m.url())).receive(future.token, { privkey: bob.priv }))).toBe(7);

      const past = await lockedToken(
        6,
        new P2PKBuilder()
          .addLockPubkey(bob.pub)
          .lockUntil(now - 60)
          .addRefundPubkey(alice.pub)
          .toOptions(),
      );
      // A stranger still cannot: the refund key is needed after the locktime.
      const stranger = keyPair();
      expect(CONDITION_REFUSED).toContain(
        await refusal(refunder.receive(signInputs(past.send, stranger.priv))),
      );
      expect(total(await refunder.receive(past.token, { privkey: alice.priv }))).toBe(6);
      expect(await states(past.send)).toEqual(past.send.map(() => 'SPENT'));
    });

    it('HTLC: a wrong preimage is refused, the right one with the lock key spends', async () => {
      const bob = keyPair();
      const { hash, preimage } = createHTLCHash();
      const { send } = await lockedToken(
        5,
        new P2PKBuilder().addLockPubkey(bob.pub).addHashlock(hash).toOptions(),
      );
      for (const p of send) expect(JSON.parse(p.secret)).toMatchObject(['HTLC', { data: hash }]);

      // cashu-ts keeps a preimage already in the witness and adds the lock key's signature to it.
      const withPreimage = (image: string) =>
        send.map((p) => ({ ...p, witness: JSON.stringify({ preimage: image, signatures: [] }) }));
      const receiver = await cashuWallet(m.url());
      const wrong = createHTLCHash().preimage;
      expect(CONDITION_REFUSED).toContain(
        await refusal(receiver.receive(withPreimage(wrong), { privkey: bob.priv })),
      );
      // The right preimage without the lock key's signature is refused too.
      expect(CONDITION_REFUSED).toContain(await refusal(receiver.receive(withPreimage(preimage))));
      expect(await states(send)).toEqual(send.map(() => 'UNSPENT'));

      expect(total(await receiver.receive(withPreimage(preimage), { privkey: bob.priv }))).toBe(5);
      const after = await receiver.checkProofsStates(send);
      for (const s of after) expect(JSON.parse(String(s.witness))).toMatchObject({ preimage });
    });
  });

  describe('a SIG_ALL melt on the wide bank (NUT-05 with NUT-08 blank outputs)', () => {
    it('signs inputs, blank outputs and the quote id; a wrong key is refused and the quote stays payable', async () => {
      const bob = keyPair();
      const carol = keyPair();
      const { wallet, proofs } = await wideBank.funded(40);
      const { request: invoice } = await createFakeLightning().createInvoice({ amount: 5 });
      const quote = await wallet.createMeltQuoteBolt11(invoice);
      const needed = 5 + Number(quote.fee_reserve);
      const { send } = await wallet.ops
        .send(needed, proofs)
        .asP2PK(new P2PKBuilder().addLockPubkey(bob.pub).sigAll().toOptions())
        .run();

      const payer = await cashuWallet(net.bankUrl);
      expect(CONDITION_REFUSED).toContain(
        await refusal(payer.meltProofsBolt11(quote, send, { privkey: carol.priv })),
      );
      expect((await payer.checkMeltQuoteBolt11(quote.quote)).state).toBe('UNPAID');
      const melt = await payer.meltProofsBolt11(quote, send, { privkey: bob.priv });
      expect(melt.quote.state).toBe('PAID');
      expect(total(melt.change)).toBe(Number(quote.fee_reserve)); // the fake charges no fee
      const after = await payer.checkProofsStates(send);
      expect(after.map((s) => s.state)).toEqual(send.map(() => 'SPENT'));
    });
  });
});
