/**
 * The portable HPKE backend: `@hpke/core` with its WebCrypto X25519 KEM and `@hpke/chacha20poly1305`.
 * Runs wherever WebCrypto has X25519 (the browser wallet, Node); every DH and HKDF step is an async
 * WebCrypto call, which on Node waits on libuv's thread pool, so servers use `native.ts` instead.
 */
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, type SenderContextParams } from '@hpke/core';
import type { HpkeBackend } from './hpke.js';
import type { EncryptionKeyPair } from './keys.js';

type HpkeKey = SenderContextParams['recipientPublicKey'];
interface HpkeKeyPair {
  privateKey: HpkeKey;
  publicKey: HpkeKey;
}

/** A portable backend with its own cache of imported key pairs (imported keys belong to their KEM). */
export function portableHpke(): HpkeBackend {
  const suite = new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Chacha20Poly1305(),
  });
  const imported = new WeakMap<EncryptionKeyPair, Promise<HpkeKeyPair>>();

  function importPair(pair: EncryptionKeyPair): Promise<HpkeKeyPair> {
    const cached = imported.get(pair);
    if (cached) return cached;
    const keys = (async () => ({
      privateKey: await suite.kem.deserializePrivateKey(pair.privateKey),
      publicKey: await suite.kem.deserializePublicKey(pair.publicKey),
    }))();
    keys.catch(() => imported.delete(pair));
    imported.set(pair, keys);
    return keys;
  }

  return {
    name: 'portable',
    async sealAuth({ pkR, sender, info, aad, pt, ikmE }) {
      const senderKey = await importPair(sender);
      const recipientPublicKey = await suite.kem.deserializePublicKey(pkR);
      const params: SenderContextParams = { recipientPublicKey, senderKey, info };
      // `ekm` is @hpke/core's testing hook; it runs DeriveKeyPair (RFC 9180 §7.1.3) on the bytes.
      if (ikmE !== undefined) params.ekm = ikmE;
      const sealed = await suite.seal(params, pt, aad);
      return { enc: new Uint8Array(sealed.enc), ct: new Uint8Array(sealed.ct) };
    },
    async openAuth({ enc, recipient, pkS, info, aad, ct }) {
      const recipientKey = await importPair(recipient);
      const senderPublicKey = await suite.kem.deserializePublicKey(pkS);
      return new Uint8Array(await suite.open({ recipientKey, enc, senderPublicKey, info }, ct, aad));
    },
  };
}
