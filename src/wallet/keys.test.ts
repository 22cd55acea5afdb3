/** A terminal's keys derive from its words alone, and bad words are refused without being echoed. */

import { secp256k1 } from '@noble/curves/secp256k1.js';
import { describe, expect, it } from 'vitest';
import { decodeAddress } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { isLancashError } from '../core/errors.js';
import { newMnemonic, seedFromMnemonic, terminalAddress, terminalKeyPair, terminalLockKey } from './keys.js';

describe('terminal keys', () => {
  it('give the same seed, key pair and address for the same words, however they are spaced', async () => {
    const words = newMnemonic();
    expect(words.split(' ')).toHaveLength(12);
    const a = seedFromMnemonic(words);
    const b = seedFromMnemonic(`  ${words.toUpperCase().replaceAll(' ', '   ')}\n`);
    expect(bytesToHex(a)).toBe(bytesToHex(b));
    expect(a).toHaveLength(64);
    const [ka, kb] = [await terminalKeyPair(a), await terminalKeyPair(b)];
    expect(bytesToHex(ka.publicKey)).toBe(bytesToHex(kb.publicKey));
    const [la, lb] = [terminalLockKey(a), terminalLockKey(b)];
    expect(bytesToHex(la.publicKey)).toBe(bytesToHex(lb.publicKey));
    expect(bytesToHex(la.publicKey)).toBe(bytesToHex(secp256k1.getPublicKey(la.privateKey, true)));
    const address = terminalAddress('lan', ka, la);
    expect(decodeAddress(address)).toEqual({
      network: 'lan',
      publicKey: ka.publicKey,
      lockKey: la.publicKey,
    });
    const seed2 = seedFromMnemonic(newMnemonic());
    const other = await terminalKeyPair(seed2);
    expect(bytesToHex(other.publicKey)).not.toBe(bytesToHex(ka.publicKey));
    expect(bytesToHex(terminalLockKey(seed2).publicKey)).not.toBe(bytesToHex(la.publicKey));
  });

  it('derive the lock key from the seed with its own HKDF info, fixed for ever (a restored wallet keeps it)', () => {
    // A known seed gives a known key: changing the derivation would strand notes locked to the old one.
    const seed = new Uint8Array(64).fill(7);
    const lock = terminalLockKey(seed);
    expect(lock.publicKey).toHaveLength(33);
    expect(secp256k1.utils.isValidSecretKey(lock.privateKey)).toBe(true);
    expect(bytesToHex(lock.publicKey)).toBe(
      '023f4bb8f49e01ae3cd9a924c2481d8a53ca868e709e842f4a336a985c0a6e81eb',
    );
  });

  it('refuses words that are not a BIP39 mnemonic, naming how many arrived but not which', () => {
    const words = newMnemonic().split(' ');
    const swapped = [...words.slice(0, 11), words[11] === 'abandon' ? 'ability' : 'abandon'].join(' ');
    for (const bad of ['', 'hello world', swapped, `${words.join(' ')} extra`, 42]) {
      try {
        seedFromMnemonic(bad);
        // A changed last word still passes the 4-bit checksum once in 16 times.
        if (bad === swapped) continue;
        throw new Error(`accepted ${String(bad)}`);
      } catch (e) {
        expect(isLancashError(e, 'InvalidInput')).toBe(true);
        if (typeof bad === 'string' && bad.includes(' '))
          expect((e as Error).message).not.toContain(bad.split(' ').slice(0, 2).join(' '));
      }
    }
  });
});
