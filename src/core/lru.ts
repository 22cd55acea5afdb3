/**
 * A bounded cache on a Map: the least recently used entry is dropped first. Used where clients choose
 * the keys (peers' public keys, static DH outputs), so memory stays bounded whatever they send.
 * Portable: the browser wallet's envelopes use it too.
 */

/**
 * `map`'s value for `key`, made by `make` on a miss and kept; at most `bound` entries. A Map iterates
 * in insertion order, so a hit is re-inserted last and the first entry is the least recently used.
 */
export function lruGet<K, V>(map: Map<K, V>, key: K, bound: number, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    if (map.size >= bound) map.delete(map.keys().next().value as K);
  } else {
    map.delete(key);
  }
  map.set(key, value);
  return value;
}
