/**
 * Where the gateway's envelopes (payments, notices) go (docs/design.md §3): a WAN address's envelope to the
 * wide bank's mailbox, a LAN address's to the gateway's own mailbox (a direct call), unless the address
 * carries an inbox URL (a server speaking the mailbox's deposit route, `POST <inbox>/v1/inbox/<address>`).
 *
 * An address is a stranger's word, so its inbox URL is a request forgery waiting to happen (issue 8,
 * item 5: the gateway would POST from inside the LAN to any host and path). An inbox URL is used only
 * when it names a built-in mailbox (the gateway's LAN listener, the wide bank: delivered as without a
 * URL) or is, exactly, one of the operator's allowed bases (`--inbox-allow`): same scheme, host, port
 * and path, no query, fragment or credentials. Anything else is `InboxNotAllowed`, at intake (the job
 * is refused before anything changes) and again here before every delivery. Deposits are idempotent
 * for the same bytes (the journal keeps the sealed envelope, so every retry sends them), never follow
 * redirects (the client's rule), and give up after `timeoutMs`.
 */
import { decodeAddress } from '../core/address/index.js';
import type { Envelope } from '../core/envelope/index.js';
import { fail, isLancashError } from '../core/errors.js';
import { deposit } from '../mailbox/client.js';
import type { DepositInTransaction, Mailbox } from '../mailbox/service.js';

/** The default limit of one delivery call to an inbox. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 5_000;

export interface Deliverer {
  /** Resolves once the inbox has the envelope; throws when it does not (the caller retries). */
  deliver(address: string, envelope: Envelope): Promise<void>;
  /**
   * The delivery as statements of the caller's transaction, when the address's inbox is the gateway's
   * LAN mailbox (on the gateway's database): a step commits it with the payment it makes. Undefined for
   * any other inbox, or when a check refuses the delivery (`deliver` then gives the refusal).
   */
  inTransaction(address: string, envelope: Envelope): DepositInTransaction | undefined;
  /** Throws `InboxNotAllowed` when the address carries an inbox URL deliveries may not go to. */
  admit(address: string): void;
  /**
   * The destination a delivery to `address` goes to: `mailbox:lan`, `mailbox:wan`, or the allowed
   * inbox base. Deliveries to one destination share its concurrency bound (the runner's).
   */
  routeOf(address: string): string;
}

export interface DelivererOptions {
  /** The wide bank's mailbox, for WAN addresses without an inbox URL. */
  wan: (address: string, envelope: Envelope) => Promise<void>;
  /** The gateway's LAN mailbox. */
  lan: Mailbox;
  /**
   * The built-in mailboxes' URLs, as an address may name them: the gateway's LAN listener (bound and
   * advertised) and the wide bank. Asked at each check: the LAN URL is known once bound.
   */
  builtIn: () => { lan: readonly string[]; wan: readonly string[] };
  /** Inbox base URLs the operator allows besides the built-in mailboxes; default none. */
  allow?: readonly string[];
  /** One deposit call to an inbox URL; default `DEFAULT_DELIVERY_TIMEOUT_MS`. */
  timeoutMs?: number;
}

type Route = { kind: 'lan' } | { kind: 'wan' } | { kind: 'inbox'; base: string };

export function createDeliverer(o: DelivererOptions): Deliverer {
  const allowed = new Set((o.allow ?? []).map(parseInboxBase));
  const tuning = { timeoutMs: o.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS };

  const route = (address: string): Route => {
    const a = decodeAddress(address);
    if (a.inbox === undefined) return { kind: a.network };
    const base = inboxBase(a.inbox);
    if (base !== undefined) {
      const builtIn = o.builtIn();
      if (builtIn.lan.some((u) => inboxBase(u) === base)) return { kind: 'lan' };
      if (builtIn.wan.some((u) => inboxBase(u) === base)) return { kind: 'wan' };
      if (allowed.has(base)) return { kind: 'inbox', base };
    }
    const shown = address.length > 24 ? `${address.slice(0, 20)}…` : address;
    return fail(
      'InboxNotAllowed',
      { address: shown, inbox: a.inbox.slice(0, 200) },
      `address ${JSON.stringify(shown)} names the inbox ${JSON.stringify(a.inbox.slice(0, 200))}, which this gateway does not deliver to (not on its --inbox-allow list)`,
    );
  };

  return {
    async deliver(address, envelope) {
      const r = route(address);
      if (r.kind === 'inbox') await deposit(r.base, address, envelope, tuning);
      else if (r.kind === 'wan') await o.wan(address, envelope);
      else await o.lan.deposit(address, envelope);
    },
    inTransaction(address, envelope) {
      let r: Route;
      try {
        r = route(address);
      } catch (e) {
        if (isLancashError(e)) return undefined;
        throw e;
      }
      return r.kind === 'lan' ? o.lan.depositInTransaction(address, envelope) : undefined;
    },
    admit(address) {
      route(address);
    },
    routeOf(address) {
      const r = route(address);
      return r.kind === 'inbox' ? r.base : `mailbox:${r.kind}`;
    },
  };
}

/**
 * An operator's allowed inbox base, e.g. `https://inbox.example` or `http://10.0.0.7:8080/mail`, in the
 * form inbox URLs are compared in; throws `InvalidInput` for anything else (a query, credentials …).
 */
export function parseInboxBase(url: string): string {
  const base = inboxBase(url);
  if (base === undefined) {
    fail(
      'InvalidInput',
      {
        argument: 'inbox-allow',
        expected: 'an http(s) base URL without query, fragment or credentials',
        received: url,
      },
      `--inbox-allow: expected an http(s) base URL such as https://inbox.example:8443, got ${JSON.stringify(url)}`,
    );
  }
  return base;
}

/**
 * `scheme://host[:port][/path]` as the WHATWG URL parser normalises it (lower-case host, default port
 * dropped, IPv4 spellings made one), without a trailing slash; undefined when the URL is not http(s)
 * or has a query, fragment or credentials (which an allowed base never has).
 */
function inboxBase(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '') return undefined;
  // `new URL` keeps a bare `?` or `#` out of `search`/`hash`; an exact base has neither.
  if (/[?#]/.test(url)) return undefined;
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}
