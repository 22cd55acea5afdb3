/**
 * The SSE hub on a real listener (in process, small bounds): the stream's headers, `retry:` hint and
 * heartbeat; the per-client and total bounds answering 429 `RateLimited` and giving the place back
 * when a stream closes, also when its client went before the route opened it; a client that stops
 * reading cut off; and `close` ending every open stream.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openEvents } from '../../test-support/sse.js';
import { createServer, type LancashServer, listen } from './server.js';
import { type SseHub, type SseStream, sseHub, Topics } from './sse.js';

interface Harness {
  app: LancashServer;
  url: string;
  hub: SseHub;
  topic: Topics<string>;
  /** Every stream the route opened, in order. */
  streams: SseStream[];
  /** `GET /late` takes its place, then opens its stream only once this is called. */
  letLateOpen: () => void;
}

let open: Harness | undefined;
afterEach(async () => {
  await open?.app.close();
  open = undefined;
});

/** A server with `GET /events` (client named by `x-client`, for the bounds) fed by `topic`. */
async function harness(limits: Parameters<typeof sseHub>[1]['limits']): Promise<Harness> {
  const app = await createServer({ name: 'sse-test', logger: false, rateLimit: false });
  const hub = sseHub(app, { clientOf: (ip) => ip, limits });
  const topic = new Topics<string>();
  const streams: SseStream[] = [];
  app.get('/events', async (req, reply) => {
    const client = String(req.headers['x-client'] ?? req.ip);
    const stream = hub.admit(client).open(reply);
    streams.push(stream);
    stream.onClose(topic.subscribeAll((text) => stream.send('note', { text })));
    const flood = Number(req.headers['x-flood'] ?? 0);
    for (let i = 0; i < flood && !stream.closed; i++) stream.send('note', { text: 'x'.repeat(16 * 1024) });
    return reply;
  });
  let letLateOpen = () => {};
  const late = new Promise<void>((resolve) => {
    letLateOpen = resolve;
  });
  // As the inbox's and the transfer's routes: the place first, then work (a lookup, a proof's check).
  app.get('/late', async (req, reply) => {
    const ticket = hub.admit(req.ip);
    await late;
    streams.push(ticket.open(reply));
    return reply;
  });
  const url = await listen(app, '127.0.0.1:0');
  open = { app, url, hub, topic, streams, letLateOpen };
  return open;
}

/** Waits until `check` holds, looking every 10 ms (at most 1000 looks: the assertion is on the state, not the time). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

describe('SSE hub', () => {
  it('streams text/event-stream with a retry hint, a heartbeat and events from the bus', async () => {
    const h = await harness({ heartbeatMs: 20 });
    const res = await fetch(`${h.url}/events`);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes(':\n\n')) text += decoder.decode((await reader.read()).value);
    expect(text.startsWith('retry: 3000\n\n')).toBe(true);
    h.topic.publish('k', 'hello\nworld');
    while (!text.includes('event: note')) text += decoder.decode((await reader.read()).value);
    while (!text.endsWith('\n\n')) text += decoder.decode((await reader.read()).value);
    expect(text).toContain('event: note\ndata: {"text":"hello\\nworld"}\n\n');
    await reader.cancel();
  });

  it('refuses 429 past the per-client and the total bound, and gives the place back on close', async () => {
    const h = await harness({ perClient: 2, total: 3 });
    const a1 = await openEvents(`${h.url}/events`, { 'x-client': 'a' });
    const a2 = await openEvents(`${h.url}/events`, { 'x-client': 'a' });
    const a3 = await openEvents(`${h.url}/events`, { 'x-client': 'a' });
    expect([a1.status, a2.status, a3.status, a3.refusal?.code]).toEqual([200, 200, 429, 72003]);
    const b1 = await openEvents(`${h.url}/events`, { 'x-client': 'b' });
    const c1 = await openEvents(`${h.url}/events`, { 'x-client': 'c' });
    expect([b1.status, c1.status, c1.refusal?.error]).toEqual([200, 429, 'RateLimited']);
    expect(h.hub.size).toBe(3);
    a1.close();
    await until(() => h.hub.size === 2);
    const c2 = await openEvents(`${h.url}/events`, { 'x-client': 'c' });
    expect(c2.status).toBe(200);
    for (const s of [a2, b1, c2]) s.close();
    await until(() => h.hub.size === 0);
  });

  it('gives the place back when the client went before the route opened its stream', async () => {
    const h = await harness({});
    const socket = connect(Number(new URL(h.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /late HTTP/1.1\r\nhost: x\r\n\r\n');
    await until(() => h.hub.size === 1);
    const connections = () =>
      new Promise<number>((resolve, reject) =>
        h.app.server.getConnections((e, n) => (e ? reject(e) : resolve(n))),
      );
    socket.destroy();
    for (let i = 0; i < 1000 && (await connections()) > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await connections()).toBe(0);
    h.letLateOpen();
    await until(() => h.streams.length === 1);
    // Its answer had closed: 'close' would not come again, so the old stream held the place for good.
    expect(h.streams[0]?.closed).toBe(true);
    expect(h.hub.size).toBe(0);
  });

  it('cuts a client that stops reading once its unsent events pass the bound', async () => {
    const h = await harness({ maxBufferedBytes: 64 * 1024 });
    const { port } = new URL(h.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.pause(); // never reads
    socket.write('GET /events HTTP/1.1\r\nhost: x\r\nx-flood: 4096\r\n\r\n');
    await new Promise((resolve) => socket.once('connect', resolve));
    await until(() => h.streams.length === 1);
    expect(h.streams[0]?.closed).toBe(true);
    expect(h.hub.size).toBe(0);
    socket.destroy();
  });

  it('closes without waiting for a connection that never sent a byte (a spare one a client opened ahead)', async () => {
    const h = await harness({});
    const { port } = new URL(h.url);
    const spare = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => spare.once('connect', resolve));
    const gone = new Promise((resolve) => spare.once('close', resolve));
    // Node counts such a socket as receiving a request: without the hook, close waits ~30 s for it.
    await h.app.close();
    open = undefined;
    await gone;
  }, 15_000);

  it('ends every open stream when the server closes, so close does not wait on them', async () => {
    const h = await harness({});
    const streams = [await openEvents(`${h.url}/events`), await openEvents(`${h.url}/events`)];
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    await h.app.close();
    open = undefined;
    await Promise.all(streams.map((s) => s.ended));
    expect(h.hub.size).toBe(0);
  });
});
