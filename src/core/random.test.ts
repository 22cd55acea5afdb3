import { describe, expect, it } from 'vitest';
import { bytesToHex } from './bytes.js';
import { pooledRandom, RANDOM_BLOCK_BYTES, randomBytes } from './random.js';

/** A counting source: each fill writes a running byte counter, so every byte it gives is distinct-ish and known. */
function countingSource() {
  const fills: Uint8Array[] = [];
  let next = 1;
  const fill = (bytes: Uint8Array) => {
    fills.push(bytes);
    for (let i = 0; i < bytes.length; i++) bytes[i] = next++ & 0xff || 1;
  };
  return { fills, fill };
}

describe('pooledRandom', () => {
  it('calls the CSPRNG once a block, not once a draw', () => {
    const { fills, fill } = countingSource();
    const draw = pooledRandom(fill, 1024);
    for (let i = 0; i < 32; i++) expect(draw(32)).toHaveLength(32);
    expect(fills).toHaveLength(1);
    draw(32);
    expect(fills).toHaveLength(2);
  });

  it('hands each byte out once and zeroes it in the block as it goes', () => {
    const { fills, fill } = countingSource();
    const draw = pooledRandom(fill, 64);
    const a = draw(16);
    const block = fills[0] as Uint8Array;
    expect(block.subarray(0, 16).every((b) => b === 0)).toBe(true);
    expect(block.subarray(16).some((b) => b !== 0)).toBe(true);
    const b = draw(16);
    expect(bytesToHex(b)).not.toBe(bytesToHex(a));
    expect(block.subarray(0, 32).every((x) => x === 0)).toBe(true);
  });

  it('gives copies: changing a draw changes no other', () => {
    const { fill } = countingSource();
    const draw = pooledRandom(fill, 64);
    const a = draw(8);
    const before = bytesToHex(a);
    const b = draw(8);
    const bBefore = bytesToHex(b);
    a.fill(0xff);
    expect(bytesToHex(b)).toBe(bBefore);
    expect(before).not.toBe(bytesToHex(a));
  });

  it('refills when a draw does not fit the rest of the block (no byte given twice)', () => {
    const { fills, fill } = countingSource();
    const draw = pooledRandom(fill, 64);
    draw(16);
    draw(16);
    draw(16);
    // 16 bytes left, 16 wanted: fits; then 1 more needs a refill.
    draw(16);
    expect(fills).toHaveLength(1);
    draw(1);
    expect(fills).toHaveLength(2);
  });

  it('sends a draw larger than a quarter block to the CSPRNG directly', () => {
    const { fills, fill } = countingSource();
    const draw = pooledRandom(fill, 64);
    const big = draw(17);
    expect(big).toHaveLength(17);
    expect(fills).toHaveLength(1);
    expect(fills[0]).toBe(big);
    // The block itself was not filled: the next small draw fills it.
    draw(4);
    expect(fills).toHaveLength(2);
    expect(fills[1]).toHaveLength(64);
  });

  it('refuses a count that is not a byte count', () => {
    const draw = pooledRandom(countingSource().fill, 64);
    for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => draw(n)).toThrow(/byte count/);
    expect(draw(0)).toHaveLength(0);
  });
});

describe('randomBytes (the process CSPRNG, pooled)', () => {
  it('gives distinct values across several blocks', () => {
    const seen = new Set<string>();
    const draws = (4 * RANDOM_BLOCK_BYTES) / 32;
    for (let i = 0; i < draws; i++) seen.add(bytesToHex(randomBytes(32)));
    expect(seen.size).toBe(draws);
  });

  it('gives large draws whole, past the 65 536 bytes getRandomValues takes at once', () => {
    const big = randomBytes(70_000);
    expect(big).toHaveLength(70_000);
    // The tail beyond the first 65 536 bytes was filled too (all zero has odds 2^-35 000).
    expect(big.subarray(65_536).some((b) => b !== 0)).toBe(true);
  });
});
