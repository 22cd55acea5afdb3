/**
 * NUT-17 over WebSockets: `GET /v1/ws` on a mint server, JSON-RPC 2.0 `subscribe` / `unsubscribe`
 * requests, `WsResponse` answers and `WsNotification`s, carried for a `SubscriptionHub`.
 *
 * Errors are JSON-RPC error objects with a stable code and the connection stays open: malformed JSON
 * -32700, not a request -32600, unknown method -32601, bad params (unknown kind, bad filter, subId in
 * use) -32602; a refusal from the registry (bounds 72035, rate 72003, unknown subscription or quote
 * 72002) carries its lancash code. `error.data` is always the lancash wire form `{code, detail, error,
 * info}`. A message over the size bound closes the connection (1009), as does a client that stops
 * reading or answering pings; the server closing closes every connection (1001) first.
 */
import fastifyWebsocket from '@fastify/websocket';
import { Type } from '@sinclair/typebox';
import { Gauge } from 'prom-client';
import type { RawData, WebSocket } from 'ws';
import { isLancashError, LancashError } from '../core/errors.js';
import type { LancashServer } from '../core/http/server.js';
import { decode } from '../core/protocol/cashu.js';
import { checkWellFormed } from '../core/unicode.js';
import type { Mint } from './mint.js';
import {
  type KindSource,
  type Payload,
  type Peer,
  SubscriptionHub,
  type SubscriptionKind,
  type SubscriptionLimits,
} from './subscriptions.js';

/** JSON-RPC 2.0's own error codes, for mistakes in the protocol itself. */
export const JSONRPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
} as const;

/** Closing codes (RFC 6455). */
const GOING_AWAY = 1001;
const TRY_AGAIN_LATER = 1013;
/** Longest a closing connection may take to answer the close before it is cut. */
const CLOSE_GRACE_MS = 1000;

const Request = Type.Object({
  jsonrpc: Type.Literal('2.0'),
  method: Type.String({ maxLength: 64 }),
  params: Type.Optional(Type.Unknown()),
  id: Type.Union([Type.Integer(), Type.String({ maxLength: 64 })]),
});

/** Adds `GET /v1/ws` for `hub`; the server must not be listening yet. */
export async function registerSubscriptionRoute(app: LancashServer, hub: SubscriptionHub): Promise<void> {
  const sockets = new Set<WebSocket>();
  await app.register(fastifyWebsocket, {
    options: { maxPayload: hub.limits.maxMessageBytes, perMessageDeflate: false },
    // Before the server waits for its connections: every socket is told to go, and cut if it lingers.
    preClose: (done) => {
      hub.close();
      for (const ws of sockets) closeSoon(ws, GOING_AWAY, 'server closing');
      done();
    },
    errorHandler: (_err, ws) => ws.terminate(),
  });

  new Gauge({
    name: 'lancash_subscriptions_open',
    help: 'NUT-17: open WebSocket connections and the filters they watch, by what',
    labelNames: ['what'],
    registers: [app.metrics],
    collect() {
      this.set({ what: 'connections' }, hub.size);
      this.set({ what: 'filters' }, hub.filters);
    },
  });

  app.get(
    '/v1/ws',
    {
      websocket: true,
      // Refused before the upgrade (429 with the wire form) when the client holds its most.
      preHandler: async (req) => hub.checkRoom(req.ip),
    },
    (ws, req) => {
      let peer: Peer;
      try {
        peer = hub.connect(req.ip, (subId, payload) =>
          send(ws, hub, { jsonrpc: '2.0', method: 'subscribe', params: { subId, payload } }),
        );
      } catch (err) {
        // Raced past the pre-check: the place went to another connection meanwhile.
        closeSoon(ws, TRY_AGAIN_LATER, isLancashError(err) ? err.message.slice(0, 100) : 'refused');
        return;
      }
      sockets.add(ws);
      let alive = true;
      const heartbeat = setInterval(() => {
        // No answer to the last ping: the client is gone or not reading.
        if (!alive) ws.terminate();
        alive = false;
        ws.ping();
      }, hub.limits.heartbeatMs);
      heartbeat.unref();
      ws.on('pong', () => {
        alive = true;
      });
      ws.on('close', () => {
        clearInterval(heartbeat);
        sockets.delete(ws);
        peer.close();
      });
      ws.on('message', (data, isBinary) => {
        void handle(ws, hub, peer, data, isBinary);
      });
    },
  );
}

/** One message from the client: answered with a result or an error, never thrown. */
async function handle(
  ws: WebSocket,
  hub: SubscriptionHub,
  peer: Peer,
  data: RawData,
  isBinary: boolean,
): Promise<void> {
  let id: number | string | null = null;
  try {
    const request = parse(data, isBinary);
    id = idOf(request);
    peer.take();
    const r = decode(Request, request, 'request');
    const answerOk = (subId: string) =>
      send(ws, hub, { jsonrpc: '2.0', result: { status: 'OK', subId }, id });
    switch (r.method) {
      case 'subscribe': {
        await peer.subscribe(r.params, () => answerOk(subIdOf(r.params)));
        return;
      }
      case 'unsubscribe': {
        peer.unsubscribe(r.params);
        answerOk(subIdOf(r.params));
        return;
      }
      default:
        throw new RpcError(
          JSONRPC.methodNotFound,
          new LancashError(
            'InvalidInput',
            { argument: 'method', expected: 'subscribe or unsubscribe', received: JSON.stringify(r.method) },
            `method ${JSON.stringify(r.method)} is not known; use subscribe or unsubscribe`,
          ),
        );
    }
  } catch (err) {
    send(ws, hub, { jsonrpc: '2.0', error: rpcError(err), id });
  }
}

/** A refusal with its JSON-RPC code. */
class RpcError extends Error {
  constructor(
    readonly rpcCode: number,
    readonly lancash: LancashError,
  ) {
    super(lancash.message);
  }
}

function parse(data: RawData, isBinary: boolean): unknown {
  const bad = (received: string, detail: string) =>
    new RpcError(
      JSONRPC.parseError,
      new LancashError('InvalidInput', { argument: 'message', expected: 'a JSON text', received }, detail),
    );
  if (isBinary) throw bad('a binary message', 'message: expected a JSON text message, got a binary one');
  // `ws` checked the text frame's UTF-8.
  const text = Array.isArray(data)
    ? Buffer.concat(data).toString('utf8')
    : Buffer.from(data as Buffer).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad('malformed JSON', 'message: not valid JSON');
  }
  checkWellFormed(value, 'message', text);
  return value;
}

/** The request's id when it has a usable one, so even a refused request is answered to its id. */
function idOf(request: unknown): number | string | null {
  if (typeof request !== 'object' || request === null) return null;
  const id = (request as { id?: unknown }).id;
  if (Number.isSafeInteger(id)) return id as number;
  if (typeof id === 'string' && id.length <= 64) return id;
  return null;
}

function subIdOf(params: unknown): string {
  return (params as { subId: string }).subId;
}

/** Any failure → a JSON-RPC error object, with the lancash wire form as `data`. */
function rpcError(err: unknown): { code: number; message: string; data: object } {
  if (err instanceof RpcError) return { code: err.rpcCode, message: err.message, data: err.lancash.toWire() };
  if (isLancashError(err)) {
    let code: number = err.code;
    if (
      isLancashError(err, 'InvalidInput') ||
      isLancashError(err, 'InvalidHex') ||
      isLancashError(err, 'InvalidString')
    ) {
      const argument = String((err.info as { argument?: unknown }).argument ?? '');
      code = argument.startsWith('params') ? JSONRPC.invalidParams : JSONRPC.invalidRequest;
    } else if (isLancashError(err, 'InvalidPoint')) {
      code = JSONRPC.invalidParams;
    }
    return { code, message: err.message, data: err.toWire() };
  }
  const internal = new LancashError('Internal', { reason: 'internal error' }, 'internal error', {
    cause: err,
  });
  return { code: JSONRPC.internalError, message: internal.message, data: internal.toWire() };
}

/** Sends one JSON message; a client that lets `maxBufferedBytes` pile up unread is cut. */
function send(ws: WebSocket, hub: SubscriptionHub, message: object): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(JSON.stringify(message));
  if (ws.bufferedAmount > hub.limits.maxBufferedBytes) ws.terminate();
}

function closeSoon(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
  const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
  timer.unref();
  ws.once('close', () => clearTimeout(timer));
}

/** The `proof_state` source over a mint: NUT-07 states with their witness, as `/v1/checkstate` answers. */
export function proofStateSource(mint: Mint): KindSource {
  return {
    read: async (Ys) => {
      const out = new Map<string, Payload>();
      for (let i = 0; i < Ys.length; i += mint.limits.maxInputs) {
        for (const s of await mint.checkState(Ys.slice(i, i + mint.limits.maxInputs))) out.set(s.Y, s);
      }
      return out;
    },
    final: (p) => (p as { state?: unknown }).state === 'SPENT',
  };
}

/**
 * The NUT-06 `nuts["17"]` entry (NUT-17 "Mint info setting"): the commands served, for the mint's
 * `bolt11` method and unit.
 */
export function nut17Info(unit: string, kinds: readonly SubscriptionKind[]): object {
  return { supported: [{ method: 'bolt11', unit, commands: [...kinds] }] };
}

/**
 * NUT-17 on a mint server: a hub over `mint.changes` serving `proof_state` and the `extra` kinds (the
 * wide bank's quotes), and its route. Returns the hub (its `kinds` feed `nut17Info`).
 */
export async function registerSubscriptions(
  app: LancashServer,
  o: {
    mint: Mint;
    clientOf: (ip: string) => string;
    extra?: Partial<Record<SubscriptionKind, KindSource>>;
    limits?: Partial<SubscriptionLimits>;
  },
): Promise<SubscriptionHub> {
  const hub = new SubscriptionHub({
    sources: { ...o.extra, proof_state: proofStateSource(o.mint) },
    changes: o.mint.changes,
    clientOf: o.clientOf,
    ...(o.limits ? { limits: o.limits } : {}),
  });
  await registerSubscriptionRoute(app, hub);
  return hub;
}
