/**
 * Test helpers for NUT-17 (tests only): cashu-ts' WebSocket client wired to the `ws` package (Node 20
 * has no global WebSocket), and a raw JSON-RPC socket for what cashu-ts never sends (hostile input,
 * bounds): it keeps every message and close in order so a test can wait for the next one.
 */
import { injectWebSocketImpl } from '@cashu/cashu-ts';
import WebSocket from 'ws';

/** Lets cashu-ts open WebSockets on Node 20 (`wallet.on.*Updates`). Idempotent. */
export function useWebSocketsInCashuTs(): void {
  injectWebSocketImpl(WebSocket as unknown as Parameters<typeof injectWebSocketImpl>[0]);
}

/** What a raw socket received, in order. */
export type Received =
  | { type: 'message'; at: number; json: Record<string, unknown> }
  | { type: 'close'; at: number; code: number; reason: string };

export interface RawSocket {
  readonly ws: WebSocket;
  /** Sends text as is (need not be JSON). */
  sendText(text: string): void;
  /** Sends a JSON-RPC request; returns its id. */
  request(method: string, params: unknown): number;
  /** Resolves with the next thing received that `match` accepts (messages before it are kept). */
  next(match?: (r: Received) => boolean): Promise<Received>;
  /** Everything received so far. */
  readonly received: Received[];
  close(): void;
}

/** Opens `base` + `/v1/ws`; rejects with the HTTP status when the upgrade is refused. */
export async function openRaw(base: string): Promise<RawSocket> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws`);
  const received: Received[] = [];
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  ws.on('message', (data) => {
    received.push({
      type: 'message',
      at: performance.now(),
      json: JSON.parse(String(data)) as Record<string, unknown>,
    });
    wake();
  });
  ws.on('close', (code, reason) => {
    received.push({ type: 'close', at: performance.now(), code, reason: String(reason) });
    wake();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  let id = 0;
  let read = 0;
  return {
    ws,
    received,
    sendText: (text) => ws.send(text),
    request(method, params) {
      const n = id++;
      ws.send(JSON.stringify({ jsonrpc: '2.0', method, params, id: n }));
      return n;
    },
    async next(match = () => true) {
      for (;;) {
        while (read < received.length) {
          const r = received[read++]!;
          if (match(r)) return r;
        }
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    close: () => ws.close(),
  };
}
