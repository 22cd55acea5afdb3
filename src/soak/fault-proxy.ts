/**
 * A fault-injecting HTTP proxy for crash and network tests (the idea of GNU Taler's
 * `harness/faultInjection.ts`): it sits between a client (the gateway) and its upstream (the wide
 * bank) and, by plan, hurts the next N requests whose path matches a pattern:
 *   - `refuse`: reset the client's connection before anything is forwarded (the upstream never sees it);
 *   - `drop`: forward, let the upstream answer in full, then reset the client's connection;
 *   - `delay`: forward, let the upstream answer, hold the answer `ms` before passing it on;
 *   - `502`: forward, let the upstream answer, then tell the client 502 with a foreign (non-lancash) body;
 *   - `pass`: forward untouched (to let some requests through before a fault).
 * So "the upstream committed but the client saw an error" is exactly `drop`, `delay` past the
 * client's timeout, and `502`. Requests no rule matches pass. A rule with a `rate` takes only that
 * share of its matching requests, drawn from the proxy's random source (seeded by `lancash soak`).
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fail } from '../core/errors.js';

export type FaultKind = 'refuse' | 'drop' | 'delay' | '502' | 'pass';

export interface FaultRule {
  /** The request path without its query: exact text, `*` matching any characters, or a RegExp. */
  path: string | RegExp;
  /** Only this method; default any. */
  method?: string;
  fault: FaultKind;
  /** For `delay`: how long the upstream's answer is held, in ms. */
  ms?: number;
  /** How many matching requests this rule takes; default 1. `Infinity` for every one. */
  times?: number;
  /** The share (0 to 1) of matching requests this rule takes, drawn at random; default every one. */
  rate?: number;
}

export interface FaultProxyOptions {
  /** Uniform numbers in [0, 1) for rules with a `rate`; default `Math.random`. */
  random?: () => number;
}

export interface FaultProxyStats {
  /** Requests the proxy received. */
  received: number;
  /** Requests forwarded to the upstream. */
  forwarded: number;
  /** Upstream answers read in full (the upstream did the work, whatever the client saw). */
  answered: number;
  /** Requests each fault was applied to (`pass` counts only requests a `pass` rule took). */
  faults: Record<FaultKind, number>;
}

export interface FaultProxy {
  /** The proxy's base URL; use it in place of the upstream's. */
  url: string;
  /** Replaces the plan: rules are tried in order, the first matching one with turns left applies. */
  plan(rules: FaultRule[]): void;
  stats(): FaultProxyStats;
  /** Stops listening, drops every connection and any answer still held back. */
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own business, not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
]);

interface LiveRule {
  rule: FaultRule;
  match: (method: string, path: string) => boolean;
  left: number;
}

/** Starts a proxy on 127.0.0.1 (a free port) in front of `target`, e.g. `http://127.0.0.1:3338`. */
export async function startFaultProxy(target: string, o: FaultProxyOptions = {}): Promise<FaultProxy> {
  const random = o.random ?? Math.random;
  const upstream = new URL(target);
  if (upstream.protocol !== 'http:') {
    fail(
      'InvalidInput',
      { argument: 'target', expected: 'an http:// URL', received: upstream.protocol },
      `target: expected an http:// URL, got ${upstream.protocol}`,
    );
  }
  const agent = new Agent({ keepAlive: true });
  const timers = new Set<NodeJS.Timeout>();
  let rules: LiveRule[] = [];
  const stats: FaultProxyStats = {
    received: 0,
    forwarded: 0,
    answered: 0,
    faults: { refuse: 0, drop: 0, delay: 0, '502': 0, pass: 0 },
  };

  const take = (method: string, path: string): FaultRule | undefined => {
    const live = rules.find(
      (r) => r.left > 0 && r.match(method, path) && (r.rule.rate === undefined || random() < r.rule.rate),
    );
    if (live === undefined) return undefined;
    live.left -= 1;
    stats.faults[live.rule.fault] += 1;
    return live.rule;
  };

  const server = createServer((req, res) => {
    stats.received += 1;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const rule = take(req.method ?? 'GET', path);
    if (rule?.fault === 'refuse') {
      reset(req.socket);
      return;
    }
    forward(req, upstream, agent, stats, (answer) => {
      if (answer === undefined) {
        // The upstream itself failed: a real gateway in front of it would say 502.
        sendForeign502(res);
        return;
      }
      switch (rule?.fault) {
        case 'drop':
          reset(req.socket);
          return;
        case '502':
          sendForeign502(res);
          return;
        case 'delay': {
          const timer = setTimeout(() => {
            timers.delete(timer);
            relay(res, answer);
          }, rule.ms ?? 0);
          timers.add(timer);
          return;
        }
        default:
          relay(res, answer);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    plan(next) {
      rules = next.map((rule) => {
        if (rule.fault === 'delay' && !(typeof rule.ms === 'number' && rule.ms >= 0)) {
          fail(
            'InvalidInput',
            { argument: 'rule.ms', expected: 'a delay in ms for a delay rule', received: String(rule.ms) },
            `rule.ms: a delay rule needs a delay in ms, got ${String(rule.ms)}`,
          );
        }
        return { rule, match: matcher(rule), left: rule.times ?? 1 };
      });
    },
    stats: () => ({ ...stats, faults: { ...stats.faults } }),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Sends the request upstream and reads the whole answer; `undefined` when the upstream failed. */
function forward(
  req: IncomingMessage,
  upstream: URL,
  agent: Agent,
  stats: FaultProxyStats,
  done: (answer: Answer | undefined) => void,
): void {
  stats.forwarded += 1;
  const out = httpRequest(
    {
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: { ...withoutHopByHop(req.headers), host: upstream.host },
      agent,
    },
    (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        stats.answered += 1;
        done({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', () => done(undefined));
    },
  );
  out.on('error', () => done(undefined));
  req.pipe(out);
}

function relay(res: ServerResponse, a: Answer): void {
  if (res.destroyed) return; // the client gave up while the answer was held
  res.writeHead(a.status, { ...withoutHopByHop(a.headers), 'content-length': a.body.length });
  res.end(a.body);
}

/** What a load balancer says when its backend fails: HTML, not the lancash wire form. */
function sendForeign502(res: ServerResponse): void {
  if (res.destroyed) return;
  const body = '<html><body><h1>502 Bad Gateway</h1></body></html>';
  res.writeHead(502, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Closes with a TCP RST, as a crashed peer or a cut cable would, rather than a polite FIN. */
function reset(socket: Socket): void {
  socket.resetAndDestroy();
}

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

function matcher(rule: FaultRule): (method: string, path: string) => boolean {
  const method = rule.method?.toUpperCase();
  // A copy without the g and y flags: their `lastIndex` would make `test` answer differently each time.
  const re =
    rule.path instanceof RegExp
      ? new RegExp(rule.path.source, rule.path.flags.replace(/[gy]/g, ''))
      : undefined;
  const test = re === undefined ? globTest(rule.path as string) : (p: string) => re.test(p);
  return (m, p) => (method === undefined || m === method) && test(p);
}

function globTest(pattern: string): (path: string) => boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`);
  return (p) => re.test(p);
}
