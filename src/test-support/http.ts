/** Test helpers for routes over real HTTP: send JSON, read the JSON answer, expect a 4xx refusal. */
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { expect } from 'vitest';

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read untyped JSON answers field by field
  json: any;
  /** The body as it arrived (to compare replies byte for byte). */
  text?: string;
}

/** One connection pool per local address, so a test can play several clients on one machine. */
const fromAddress = new Map<string, Agent>();

/**
 * Sends `body` (JSON-encoded; a string is sent as it is, for malformed bodies) and reads the answer.
 * `o.from` is the local address to connect from (e.g. `127.0.0.2`: Linux routes all of 127/8 to
 * loopback), so a server that bounds each client by IP sees another client.
 */
export async function sendJson(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  o: { from?: string } = {},
): Promise<Answer> {
  let dispatcher: Agent | undefined;
  if (o.from !== undefined) {
    dispatcher = fromAddress.get(o.from) ?? new Agent({ localAddress: o.from });
    fromAddress.set(o.from, dispatcher);
  }
  const res = await request(`${base}${path}`, {
    ...(dispatcher !== undefined ? { dispatcher } : {}),
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text), text };
}

/** Expects a refusal (a 4xx; a 2xx or a 5xx fails the test) and returns its Cashu/lancash code. */
export function refusalCode(r: Answer): number {
  expect(r.status, JSON.stringify(r.json)).toBeGreaterThanOrEqual(400);
  expect(r.status).toBeLessThan(500);
  return r.json.code;
}

/** A Prometheus counter or gauge on `base`'s `/metrics`, summed over its labels; undefined when absent. */
export async function metricValue(base: string, name: string): Promise<number | undefined> {
  const res = await request(`${base}/metrics`);
  const text = await res.body.text();
  const lines = text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (lines.length === 0) return undefined;
  return lines.reduce((total, l) => total + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/**
 * A client that sends its whole request (a POST of `bodyBytes` bytes of JSON-ish filler with a
 * `Content-Length`) before it reads anything, as simple scripts and many HTTP/1.1 clients do; then
 * reads the answer until the server closes. Returns what it could read and the socket error, if any:
 * a server that closes with unread bytes resets the connection, and the reset discards the answer.
 */
export async function postWholeThenRead(
  base: string,
  path: string,
  bodyBytes: number,
): Promise<{ text: string; error: string | undefined }> {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  socket.pause();
  let error: string | undefined;
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error ??= e.code ?? e.message;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const head = `POST ${path} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${bodyBytes}\r\n\r\n`;
  await new Promise<void>((resolve) =>
    socket.write(Buffer.concat([Buffer.from(head), Buffer.alloc(bodyBytes, 0x20)]), () => resolve()),
  );
  let text = '';
  socket.setEncoding('utf8').on('data', (s: string) => {
    text += s;
  });
  socket.resume();
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { text, error };
}
