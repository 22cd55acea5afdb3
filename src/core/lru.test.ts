import { describe, expect, it } from 'vitest';
import { lruGet } from './lru.js';

describe('lruGet', () => {
  it('makes a value once per key and drops the least recently used beyond its bound', () => {
    const map = new Map<string, number>();
    let made = 0;
    const get = (k: string) => lruGet(map, k, 2, () => ++made);
    expect([get('a'), get('b'), get('a')]).toEqual([1, 2, 1]); // `a` is now the most recent
    expect(get('c')).toBe(3); // drops `b`, not `a`
    expect([...map.keys()]).toEqual(['a', 'c']);
    expect(get('b')).toBe(4);
    expect(map.size).toBe(2);
  });

  it('keeps nothing when making the value throws', () => {
    const map = new Map<string, number>();
    expect(() =>
      lruGet(map, 'x', 2, () => {
        throw new Error('refused');
      }),
    ).toThrow('refused');
    expect(map.size).toBe(0);
  });
});
