/** Test helpers for routes over real HTTP: send JSON, read the JSON answer, expect a 4xx refusal. */
import { Agent, request } from 'undici';
import { expect } from 'vitest';

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read untyped JSON answers field by field
  json: any;
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
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text) };
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
