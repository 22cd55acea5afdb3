/**
 * Where deliveries may go (issue 8, item 5): an address's inbox URL is used only when it is a built-in
 * mailbox or exactly an allowed base (scheme, host, port, path; no query, fragment or credentials),
 * compared in the WHATWG URL parser's normal form; everything else is `InboxNotAllowed`, and a refused
 * delivery calls nothing.
 */
import { describe, expect, it } from 'vitest';
import { encodeAddress, type Network } from '../core/address/index.js';
import { isLancashError } from '../core/errors.js';
import type { Mailbox } from '../mailbox/service.js';
import { createDeliverer, parseInboxBase } from './delivery.js';

const KEY = new Uint8Array(32).fill(7);

function address(network: Network, inbox?: string): string {
  return encodeAddress({ network, publicKey: KEY, ...(inbox !== undefined ? { inbox } : {}) });
}

function deliverer(allow: string[] = []) {
  const calls: string[] = [];
  const lan = {
    deposit: async (a: string) => {
      calls.push(`lan ${a}`);
      return { duplicate: false };
    },
  } as unknown as Mailbox;
  const d = createDeliverer({
    wan: async (a) => {
      calls.push(`wan ${a}`);
    },
    lan,
    builtIn: () => ({ lan: ['http://127.0.0.1:3340'], wan: ['https://bank.example/'] }),
    allow,
  });
  return { d, calls };
}

function refused(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return isLancashError(e, 'InboxNotAllowed');
  }
}

describe('inbox allow-list', () => {
  it('routes addresses without an inbox and built-in mailboxes to the mailboxes', () => {
    const { d } = deliverer();
    expect(d.routeOf(address('lan'))).toBe('mailbox:lan');
    expect(d.routeOf(address('wan'))).toBe('mailbox:wan');
    expect(d.routeOf(address('lan', 'http://127.0.0.1:3340/'))).toBe('mailbox:lan');
    expect(d.routeOf(address('wan', 'HTTPS://Bank.Example:443'))).toBe('mailbox:wan');
  });

  it('takes an allowed base exactly, in its normal form', () => {
    const { d } = deliverer([parseInboxBase('http://10.0.0.7:8080/mail/')]);
    expect(d.routeOf(address('lan', 'http://10.0.0.7:8080/mail'))).toBe('http://10.0.0.7:8080/mail');
    expect(d.routeOf(address('lan', 'http://0x0a.0.0.7:8080/mail/'))).toBe('http://10.0.0.7:8080/mail');
  });

  it.each([
    'http://127.0.0.1:9',
    'http://127.0.0.1:3341',
    'https://127.0.0.1:3340',
    'http://10.0.0.7:8080',
    'http://10.0.0.7:8080/mail/admin',
    'http://10.0.0.7:8080/mail?x=1',
    'http://10.0.0.7:8080/mail#x',
    'http://user:pw@10.0.0.7:8080/mail',
    'http://10.0.0.7:8081/mail',
    'https://bank.example/v1/bank',
  ])('refuses %s', (inbox) => {
    const { d, calls } = deliverer([parseInboxBase('http://10.0.0.7:8080/mail')]);
    expect(refused(() => d.admit(address('lan', inbox)))).toBe(true);
    expect(refused(() => d.routeOf(address('lan', inbox)))).toBe(true);
    return d.deliver(address('lan', inbox), {} as never).then(
      () => expect.fail('delivered'),
      (e) => {
        expect(isLancashError(e, 'InboxNotAllowed')).toBe(true);
        expect(calls).toEqual([]);
      },
    );
  });

  it('refuses an operator entry that is not a plain base', () => {
    for (const bad of ['ftp://a', 'http://a/?q', 'http://u@a', 'not a url', 'http://a/#f']) {
      expect(() => parseInboxBase(bad)).toThrow(/--inbox-allow/);
    }
    expect(parseInboxBase('HTTP://Inbox.Example:80/')).toBe('http://inbox.example');
  });
});
