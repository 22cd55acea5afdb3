/**
 * The soak's stand-in for a load balancer in front of several gateway processes: each request goes
 * to the next upstream in turn, and one whose connection is refused (a process killed, not yet back)
 * goes to the next, as a balancer's health check would arrange. Bodies are small JSON, read whole
 * before forwarding so that a refused one can be sent again; answers are passed on whole.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Balancer {
  url: string;
  /** The upstreams' base URLs, tried in turn. */
  setUpstreams(urls: readonly string[]): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'content-length']);

export async function startBalancer(): Promise<Balancer> {
  let upstreams: URL[] = [];
  let next = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const tryFrom = (tries: number) => {
        const upstream = upstreams[next++ % Math.max(1, upstreams.length)];
        if (upstream === undefined || tries >= upstreams.length * 2) {
          res.writeHead(503, { 'content-type': 'text/plain' }).end('no upstream answered');
          return;
        }
        const out = httpRequest(
          {
            hostname: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: { ...strip(req.headers), host: upstream.host, 'content-length': body.length },
          },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (c: Buffer) => parts.push(c));
            answer.on('end', () => {
              const all = Buffer.concat(parts);
              res.writeHead(answer.statusCode ?? 502, {
                ...strip(answer.headers),
                'content-length': all.length,
              });
              res.end(all);
            });
            answer.on('error', () => res.destroy());
          },
        );
        out.on('error', (e: NodeJS.ErrnoException) => {
          // Refused before anything was sent: that process is down, the next one takes it.
          if (e.code === 'ECONNREFUSED') tryFrom(tries + 1);
          else res.destroy();
        });
        out.end(body);
      };
      tryFrom(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setUpstreams: (urls) => {
      upstreams = urls.map((u) => new URL(u));
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function strip(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}
