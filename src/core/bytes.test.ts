/** The byte helpers: hex encoding on Node's codec agrees with noble's (the browser's) on any view. */
import { bytesToHex as portableBytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { bytesToHex, nodeBuffer } from './bytes.js';

it('finds Node’s Buffer under Node', () => {
  expect(nodeBuffer).toBe(Buffer);
});

it('encodes hex as noble does, for offset views of larger buffers too', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(9), (bytes, offset) => {
      const view = new Uint8Array(bytes.length + offset + 3).subarray(offset, offset + bytes.length);
      view.set(bytes);
      expect(bytesToHex(view)).toBe(portableBytesToHex(bytes));
    }),
  );
});
