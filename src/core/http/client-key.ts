/**
 * The client a request counts for, wherever lancash bounds work per client (the gateway's intake, the
 * mailboxes' quotas and gate, the NUT-17 hub, the event streams): an IPv4 address as is, also when it
 * arrives IPv4-mapped (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2: the same host either way), and an IPv6
 * address by its first 64 bits, since one subscriber commonly holds a whole /64 (RFC 6177) and must
 * not become 2^64 clients by changing its address. Anything else (not an address) is its own key.
 */
export function clientOf(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4 !== null) return v4[1]!;
  const address = ip.split('%')[0]!; // no zone id
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return address;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
