/** A terminal's keys derive from its words alone, and bad words are refused without being echoed. */
import { describe, expect, it } from 'vitest';
import { decodeAddress } from '../core/address/index.js';
import { bytesToHex } from '../core/bytes.js';
import { isLancashError } from '../core/errors.js';
import { newMnemonic, seedFromMnemonic, terminalAddress, terminalKeyPair } from './keys.js';

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
    const address = terminalAddress('lan', ka);
    expect(decodeAddress(address)).toEqual({ network: 'lan', publicKey: ka.publicKey });
    const other = await terminalKeyPair(seedFromMnemonic(newMnemonic()));
    expect(bytesToHex(other.publicKey)).not.toBe(bytesToHex(ka.publicKey));
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
