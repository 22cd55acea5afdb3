import { describe, expect, it } from 'vitest';
import { clientOf } from './client-key.js';

describe('clientOf', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    // The same host over an IPv4-mapped socket: one client, not two (the gateway once kept the prefix).
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    // Not an address: its own key, never merged with another's.
    ['1:2:3', '1:2:3'],
    ['localhost', 'localhost'],
  ])('%s counts as %s', (ip, key) => {
    expect(clientOf(ip)).toBe(key);
  });
});
