/**
 * The NUT-17 transport in process, over a hub of in-memory states with small bounds: a client that
 * stops reading is cut once its unsent notifications pass `maxBufferedBytes`, a client that does not
 * answer pings is cut, a too-large message closes the connection (1009), and closing the server closes
 * every socket with 1001. Each leaves the hub without the connection.
 */

import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createServer, type LancashServer, listen } from '../core/http/server.js';
import { Topics } from '../core/http/sse.js';
import { type Payload, SubscriptionHub, type SubscriptionLimits } from './subscriptions.js';
import { registerSubscriptionRoute } from './ws.js';

const Y = `02${'11'.repeat(32)}`;

let app: LancashServer | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function serve(limits: Partial<SubscriptionLimits>) {
  let state = 0;
  const changes = new Topics<readonly string[]>();
  const hub = new SubscriptionHub({
    sources: {
      proof_state: {
        // A large payload, so a few unread notifications fill the buffer.
        read: async (ids) =>
          new Map<string, Payload>(
            ids.map((id) => [id, { Y: id, state: 'PENDING', n: state, pad: 'x'.repeat(4096) }]),
          ),
        final: () => false,
      },
    },
    changes,
    clientOf: (ip) => ip,
    limits: { recheckMs: 60_000, ...limits },
  });
  app = await createServer({ name: 'ws-test', logger: false });
  await registerSubscriptionRoute(app, hub);
  const url = (await listen(app, '127.0.0.1:0')).replace(/^http/, 'ws');
  const change = () => {
    state++;
    changes.publish('proof_state', [Y]);
  };
  return { hub, url: `${url}/v1/ws`, change };
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

async function subscribed(url: string, o: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, o);
  await opened(ws);
  const first = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'subscribe',
      params: { kind: 'proof_state', subId: 's', filters: [Y] },
    }),
  );
  await first;
  return ws;
}

describe('NUT-17 transport', () => {
  it('cuts a client that stops reading once its unsent notifications pass the bound', async () => {
    const { hub, url, change } = await serve({ maxBufferedBytes: 64 * 1024 });
    const ws = await subscribed(url);
    const socket = (ws as unknown as { _socket: { pause(): void } })._socket;
    socket.pause();
    // Each notification is ~4 KiB; the kernel buffers take some before the server's own buffer grows.
    const pushing = setInterval(change, 1);
    await expect.poll(() => hub.size, { timeout: 20_000 }).toBe(0);
    clearInterval(pushing);
    ws.terminate();
  });

  it('cuts a client that does not answer pings', async () => {
    const { hub, url } = await serve({ heartbeatMs: 50 });
    const ws = await subscribed(url, { autoPong: false });
    expect(await closed(ws)).toBe(1006);
    await expect.poll(() => hub.size).toBe(0);
  });

  it('closes a connection whose message is over the bound (1009); the server keeps serving', async () => {
    const { hub, url } = await serve({ maxMessageBytes: 1024 });
    const ws = await subscribed(url);
    const code = closed(ws);
    ws.send('x'.repeat(2048));
    expect(await code).toBe(1009);
    await expect.poll(() => hub.size).toBe(0);
    (await subscribed(url)).close();
  });

  it('closes every socket with 1001 when the server closes', async () => {
    const { hub, url } = await serve({});
    const sockets = await Promise.all([subscribed(url), subscribed(url)]);
    const codes = Promise.all(sockets.map(closed));
    await app!.close();
    app = undefined;
    expect(await codes).toEqual([1001, 1001]);
    expect(hub.size).toBe(0);
  });
});
