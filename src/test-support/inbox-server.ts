/**
 * A loopback HTTP server standing in for an inbox URL an address carries, for the gateway's delivery
 * tests: it records every request (method, path, body) and, by mode, never answers (`hang`: the
 * request stays open until the client gives up, which is counted), or forwards the request to a real
 * mailbox (`forward`) and relays its answer. So a test can tell whether the gateway called it at all,
 * how many deliveries are held open, and that a retry carries the same bytes as the first try.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { request } from 'undici';

export interface InboxRequest {
  method: string;
  path: string;
  body: string;
}

export type InboxMode = { hang: true } | { forward: string };

export interface InboxServer {
  /** The server's base URL, e.g. `http://127.0.0.1:41234`: put it in an address's inbox. */
  url: string;
  /** Every request received, in order. */
  requests: InboxRequest[];
  /** Requests held open now (mode `hang`). */
  open(): number;
  /** Held requests the client closed before any answer (its timeout). */
  abandoned(): number;
  mode(m: InboxMode): void;
  close(): Promise<void>;
}

/** Starts an inbox server on 127.0.0.1 (a free port), at first in mode `m`. */
export async function startInboxServer(m: InboxMode = { hang: true }): Promise<InboxServer> {
  let mode = m;
  const requests: InboxRequest[] = [];
  const held = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let abandoned = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    requests.push({ method: req.method ?? '', path: req.url ?? '', body });
    if ('hang' in mode) {
      held.add(res);
      res.once('close', () => {
        if (held.delete(res)) abandoned += 1;
      });
      return;
    }
    const answer = await request(`${mode.forward.replace(/\/+$/, '')}${req.url ?? '/'}`, {
      method: (req.method ?? 'GET') as 'GET' | 'POST',
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
      body: req.method === 'GET' ? null : body,
    });
    const text = await answer.body.text();
    res.writeHead(answer.statusCode, { 'content-type': 'application/json' });
    res.end(text);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    open: () => held.size,
    abandoned: () => abandoned,
    mode(next) {
      mode = next;
    },
    async close() {
      held.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
