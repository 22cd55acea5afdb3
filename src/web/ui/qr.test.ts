/** The QR code's drawing: one square per dark module of uqr's matrix, in module units. */
import { encode } from 'uqr';
import { describe, expect, it } from 'vitest';
import { qrPath } from './qr.js';

describe('qrPath', () => {
  it('draws exactly the dark modules of the matrix, quiet zone included', () => {
    const text = 'lan1qqdy92wruqv9xdthkm2pmh7fzu77vwuu4mnh88wz5vfr99hrrkvsvcu3638';
    const { size, path } = qrPath(text);
    const { data } = encode(text, { ecc: 'M', border: 2 });
    expect(size).toBe(data.length);
    const dark = data.flat().filter(Boolean).length;
    expect(path.match(/h1v1h-1z/g)).toHaveLength(dark);
    // The quiet zone (border 2) stays light: no square starts in the first two rows or columns.
    expect(path).not.toMatch(/M[01] /);
    expect(path).not.toMatch(/M\d+ [01]h/);
  });

  it('refuses a text too long for one code', () => {
    expect(() => qrPath('x'.repeat(5000))).toThrow();
  });
});
