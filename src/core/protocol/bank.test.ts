/**
 * The bank protocol on its own: receipts verify offline and any change to a signed field breaks them
 * (property test); the client calls sort a bank's answers into a result, a proven refusal, or an
 * unclear outcome when the answer does not open or the receipt does not verify.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../bytes.js';
import { type EncryptionKeyPair, generateEncryptionKeyPair, openJson, sealJson } from '../envelope/index.js';
import { isLancashError } from '../errors.js';
import { isUnclear } from '../http/client.js';
import { createServer, type LancashServer, listen } from '../http/server.js';
import {
  BANK_ISSUE_RESPONSE,
  BANK_RECEIVE_RESPONSE,
  type BankPeer,
  type ReceiptFields,
  receiptMessage,
  requestIssue,
  requestReceive,
  signReceipt,
  verifyReceipt,
} from './bank.js';

const secret = ed25519.utils.randomSecretKey();
const receiptKey = ed25519.getPublicKey(secret);
const Y = `02${'11'.repeat(32)}`;
const fields: ReceiptFields = {
  v: 1,
  transferId: 't-1',
  account: 'ab'.repeat(32),
  amount: 13,
  unit: 'eur',
  Ys: [Y],
  receivedAt: 1_700_000_000_000,
};

describe('receipts', () => {
  it('verify with the signing key only', () => {
    const r = signReceipt(fields, secret);
    expect(verifyReceipt(r, receiptKey)).toBe(true);
    expect(verifyReceipt(r, bytesToHex(receiptKey))).toBe(true);
    expect(verifyReceipt(r, ed25519.getPublicKey(ed25519.utils.randomSecretKey()))).toBe(false);
    expect(verifyReceipt(r, 'not a key')).toBe(false);
    expect(verifyReceipt({ ...r, extra: 1, signature: r.signature.slice(2) }, receiptKey)).toBe(false);
  });

  it('property: changing any signed field breaks the signature', () => {
    const r = signReceipt(fields, secret);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ transferId: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/) }),
          fc.record({ account: fc.stringMatching(/^[0-9a-f]{64}$/) }),
          fc.record({ amount: fc.integer({ min: 1, max: 2 ** 40 }) }),
          fc.record({ unit: fc.constantFrom('sat', 'usd', 'EUR') }),
          fc.record({
            Ys: fc.array(fc.stringMatching(/^0[23][0-9a-f]{64}$/), { minLength: 1, maxLength: 3 }),
          }),
          fc.record({ receivedAt: fc.nat() }),
        ),
        (change) => {
          const changed = { ...r, ...change };
          const same = Buffer.from(receiptMessage(changed)).equals(Buffer.from(receiptMessage(r)));
          expect(verifyReceipt(changed, receiptKey)).toBe(same);
        },
      ),
    );
  });
});

describe('client calls against a misbehaving bank', () => {
  let app: LancashServer;
  let bankKeys: EncryptionKeyPair;
  let impostor: EncryptionKeyPair;
  let holder: EncryptionKeyPair;
  let peer: BankPeer & { receiptKey: Uint8Array };
  /** What the fake bank does with the next request. */
  let behave: 'refuse' | 'impostor' | 'badReceipt' | 'goodReceipt' | 'shortSignatures' = 'refuse';

  beforeAll(async () => {
    bankKeys = await generateEncryptionKeyPair();
    impostor = await generateEncryptionKeyPair();
    holder = await generateEncryptionKeyPair();
    app = await createServer({ name: 'fake-bank', logger: false, rateLimit: false });
    app.post('/v1/bank/:role', async (req, reply) => {
      const opened = await openJson({ envelope: req.body, recipient: bankKeys });
      const issue = opened.type === 'bank.issue.request';
      const answer = (sender: EncryptionKeyPair, payload: unknown) =>
        sealJson({
          type: issue ? BANK_ISSUE_RESPONSE : BANK_RECEIVE_RESPONSE,
          transferId: opened.transferId,
          sender,
          recipient: opened.sender,
          payload,
        });
      const receipt = { ...fields, transferId: opened.transferId, account: 'cd'.repeat(32) };
      switch (behave) {
        case 'refuse':
          return reply
            .code(400)
            .send({ code: 73002, detail: 'short', error: 'InsufficientBalance', info: {} });
        case 'impostor':
          return answer(impostor, { signatures: [] });
        case 'shortSignatures':
          return answer(bankKeys, { signatures: [] });
        case 'badReceipt':
          return answer(bankKeys, { receipt: { ...signReceipt(receipt, secret), amount: 14 } });
        case 'goodReceipt':
          return answer(bankKeys, { receipt: signReceipt(receipt, secret) });
      }
    });
    const base = await listen(app, '127.0.0.1:0');
    peer = { base, encryptionKey: bankKeys.publicKey, receiptKey };
  });
  afterAll(() => app.close());

  const issue = () =>
    requestIssue({
      bank: peer,
      holder,
      transferId: 'x',
      amount: 1,
      outputs: [{ amount: 1, id: '00ad268c4d1f5826', B_: Y }],
    });
  const receive = () =>
    requestReceive({
      bank: peer,
      sender: holder,
      transferId: 'y',
      account: 'cd'.repeat(32),
      proofs: [{ amount: 13, id: '00ad268c4d1f5826', secret: 's', C: Y }],
    });

  it('a 4xx is the proven refusal the bank sent', async () => {
    behave = 'refuse';
    const e = await issue().catch((x: unknown) => x);
    expect(isLancashError(e, 'InsufficientBalance')).toBe(true);
  });

  it('an answer sealed by another key, or missing signatures, is an unclear outcome', async () => {
    behave = 'impostor';
    expect(isUnclear(await issue().catch((x: unknown) => x))).toBe(true);
    behave = 'shortSignatures';
    expect(isUnclear(await issue().catch((x: unknown) => x))).toBe(true);
  });

  it('a receipt that does not verify is an unclear outcome; a good one is returned', async () => {
    behave = 'badReceipt';
    expect(isUnclear(await receive().catch((x: unknown) => x))).toBe(true);
    behave = 'goodReceipt';
    const r = await receive();
    expect(r).toMatchObject({ transferId: 'y', amount: 13 });
    expect(verifyReceipt(r, receiptKey)).toBe(true);
  });
});
