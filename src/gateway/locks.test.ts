/** The gateway's locked outputs: P2PK secrets for a version-1 destination, only at a mint that lists NUT-11. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { parseWellKnownSecret } from '../core/conditions/index.js';
import { toAmount } from '../core/money.js';
import { curve } from '../test-support/wallet.js';
import { deliveryLock, mintEnforcesP2pk, relockKey } from './locks.js';
import { makeOutputs } from './wallet.js';

const x25519 = new Uint8Array(32).fill(9);
const lockKey = secp256k1.getPublicKey(new Uint8Array(32).fill(3), true);
const v1 = encodeAddress({ network: 'wan', publicKey: x25519, lockKey });
const v0 = encodeAddress({ network: 'wan', publicKey: x25519 });
const KEYSET = '00aabbccddeeff00';

/** A mint whose `/v1/info` lists NUT-11 (or not), counting the questions. */
function infoServer(nut11: boolean): Promise<{ base: string; asked: () => number; server: Server }> {
  let asked = 0;
  const server = createServer((_req, res) => {
    asked++;
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        name: 'm',
        nuts: nut11 ? { '11': { supported: true } } : { '12': { supported: true } },
      }),
    );
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ base: `http://127.0.0.1:${port}`, asked: () => asked, server });
    }),
  );
}

let yes: Awaited<ReturnType<typeof infoServer>>;
let no: Awaited<ReturnType<typeof infoServer>>;
beforeAll(async () => {
  [yes, no] = await Promise.all([infoServer(true), infoServer(false)]);
});
afterAll(() => {
  yes.server.close();
  no.server.close();
});

describe('gateway locked outputs', () => {
  it('locks every output to the key (SIG_INPUTS, a nonce each), or none without a key', () => {
    const locked = makeOutputs(curve, KEYSET, toAmount(13), lockKey);
    expect(locked.map((o) => o.amount)).toEqual([1, 4, 8]);
    const nonces = new Set<string>();
    for (const o of locked) {
      const w = parseWellKnownSecret(o.secret)!;
      expect(w).toMatchObject({
        kind: 'P2PK',
        data: bytesToHex(lockKey),
        tags: { sigflag: 'SIG_INPUTS', pubkeys: [] },
      });
      nonces.add(w.nonce);
    }
    expect(nonces.size).toBe(3);
    for (const o of makeOutputs(curve, KEYSET, toAmount(13)))
      expect(parseWellKnownSecret(o.secret)).toBeUndefined();
  });

  it('locks to a version-1 address at a mint that lists NUT-11, asking it once', async () => {
    expect(await deliveryLock(v1, yes.base)).toEqual(lockKey);
    expect(await deliveryLock(v1, yes.base)).toEqual(lockKey);
    expect(yes.asked()).toBe(1);
    expect(await deliveryLock(v0, yes.base)).toBeUndefined();
    expect(await deliveryLock(v1, no.base)).toBeUndefined();
    expect(await mintEnforcesP2pk('http://127.0.0.1:1')).toBe(false);
  });

  it('outputs made again keep the lock of the ones they replace', () => {
    expect(relockKey(v1, makeOutputs(curve, KEYSET, toAmount(3), lockKey))).toEqual(lockKey);
    expect(relockKey(v1, makeOutputs(curve, KEYSET, toAmount(3)))).toBeUndefined();
    expect(relockKey(v0, makeOutputs(curve, KEYSET, toAmount(3)))).toBeUndefined();
  });
});
