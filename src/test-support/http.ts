/** Test helpers for routes over real HTTP: send JSON, read the JSON answer, expect a 4xx refusal. */
import { request } from 'undici';
import { expect } from 'vitest';

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read untyped JSON answers field by field
  json: any;
}

/** Sends `body` (JSON-encoded; a string is sent as it is, for malformed bodies) and reads the answer. */
export async function sendJson(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Answer> {
  const res = await request(`${base}${path}`, {
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
