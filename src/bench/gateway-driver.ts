/**
 * The load driver of `bench gateway`, a separate process (forked by `gateway.ts`) so that the load's
 * own work (HTTP client, JSON) is not counted as the servers' and the servers see their traffic over
 * loopback as from terminals. It posts the prepared, sealed conversion requests (job 1 to the
 * gateway's LAN listener, job 2 to its WAN listener), and plays the destination terminals: each
 * watches its inbox's live events (LAN: the gateway's mailbox, WAN: the wide bank's), which bring
 * each new payment whole, and drains to ack what it took every `ACK_BATCH` payments (and at once on
 * an `arrived` without a message), so no inbox fills up. A conversion ends when its payment reaches
 * its terminal; the latency is from its post to then.
 *
 * Two loops: closed (`inFlight` conversions per direction, the next posted when one ends: the most
 * the servers do) and open (`rate` arrivals a second per direction on a Poisson schedule drawn in
 * advance, posted whether or not earlier ones ended, as independent terminals do: queueing shows in
 * the latency). It tells the parent when the timed window opens and closes (the parent samples CPU
 * time then) and answers every conversion that ended inside the window; in the open loop also the
 * latency of every conversion posted inside it, waited for after the window closes.
 */
import { request } from 'undici';
import { hex } from '../core/bytes.js';
import { type EncryptionKeyPair, type Envelope, keyPairFromPrivate } from '../core/envelope/index.js';
import { call, isUnclear, setHttpTransport } from '../core/http/client.js';
import { undiciTransport } from '../core/http/node-transport.js';
import { SseParser } from '../core/http/sse-parser.js';
import { decode } from '../core/protocol/cashu.js';
import { type Direction, JOB1_PATH, JOB2_PATH, TransferStatus } from '../core/protocol/gateway.js';
import { traceClock } from '../core/step-trace.js';
import { drain, inboxEventsUrl, mailboxInfo } from '../mailbox/client.js';
import { ARRIVED_EVENT, ArrivedEvent, type StoredMessage } from '../mailbox/protocol.js';
import { latencySummary, poissonArrivals } from './arrivals.js';

export interface DriverWork {
  direction: Direction;
  envelope: Envelope;
  /** Index of the destination terminal among `terminals[direction]`. */
  terminal: number;
  notes: number;
}

export interface DriverTerminal {
  address: string;
  /** X25519 private key, hex: the terminal drains its own inbox. */
  privateKey: string;
}

export interface DriverStart {
  kind: 'start';
  urls: { lan: string; wan: string };
  /** Where each direction's payments are drained: the gateway's LAN listener, the wide bank. */
  mailboxes: Record<Direction, string>;
  terminals: Record<Direction, DriverTerminal[]>;
  work: DriverWork[];
  seconds: number;
  warmupSeconds: number;
  /** Closed loop: conversions in flight per direction. */
  inFlight: number;
  /** Open loop instead: arrivals a second per direction (Poisson). */
  rate?: number;
}

/** The open loop's figures, over the conversions posted inside the timed window. */
export interface DriverOpenLoop {
  /** Posted inside the window, per direction. */
  posted: Record<Direction, number>;
  /** Their latencies, ms (post → drained), of those drained before the wait after the window ran out. */
  latencies: Record<Direction, number[]>;
  /** The same conversions, each with its times: what the step trace's `slowest` ranks. */
  conversions: DriverFinished[];
  /** Posted inside the window but not drained within `UNDRAINED_AFTER_MS` of its end. */
  undrained: Record<Direction, number>;
  /** How late the driver posted against its schedule, ms (its own event loop's delay). */
  lateMs: { p50: number; p99: number; max: number };
}

export interface DriverFinished {
  direction: Direction;
  id: string;
  notes: number;
  /** Unix ms, fractional (the machine's clock, as the gateway's journal and the step trace's marks). */
  postedAt: number;
  drainedAt: number;
}

export type DriverMessage =
  | { kind: 'ready' }
  | { kind: 'edge'; edge: 'open' | 'close' }
  | {
      kind: 'result';
      finished: DriverFinished[];
      ranOut: boolean;
      seconds: number;
      drains: number;
      /** Posts made again after an unclear outcome (no answer within the client's 10 s). */
      retries: number;
      open?: DriverOpenLoop;
    }
  | { kind: 'error'; message: string };

/**
 * Sends `m` to the bench; resolves once it is written. A `disconnect` right after a bare `send` could
 * close the channel with a large result (a 20 s run's step traces) still queued: the bench then saw
 * the driver exit without its result.
 */
const send = (m: DriverMessage) =>
  new Promise<void>((resolve) => {
    if (!process.connected || process.send === undefined) resolve();
    else process.send(m, undefined, {}, () => resolve());
  });

/** Posts of one request at most, as a terminal retries an unclear outcome with the same envelope. */
const TRIES = 5;
/** The open loop's wait, after the window, for the conversions posted inside it. */
const UNDRAINED_AFTER_MS = 30_000;

const round1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Payments taken (from events or drains) and not yet acked, past which a terminal drains to ack them. */
const ACK_BATCH = 16;

/**
 * One terminal: a live-events stream on its inbox, until `stop`. A payment comes with its `arrived`
 * event (the mailbox sends each new message whole) and is acked in a later drain, once `ACK_BATCH`
 * wait: so the inbox is drained (and emptied), but not once per payment. A bare `arrived` (messages
 * wait: the stream's first event, or one the mailbox could not tell) drains at once.
 */
class Terminal {
  private draining: Promise<void> | undefined;
  private again = false;
  /** Ids taken and not acked yet: acked by the next drain, and not taken twice meanwhile. */
  private readonly taken = new Set<string>();
  private readonly abort = new AbortController();
  drains = 0;

  constructor(
    private readonly base: string,
    private readonly address: string,
    private readonly owner: EncryptionKeyPair,
    private readonly serverKey: Uint8Array,
    private readonly onPayment: (transferId: string) => void,
  ) {}

  async watch(): Promise<void> {
    const url = await inboxEventsUrl(this.base, {
      owner: this.owner,
      address: this.address,
      serverKey: this.serverKey,
    });
    const res = await request(url, { method: 'GET', signal: this.abort.signal });
    if (res.statusCode !== 200)
      throw new Error(`inbox events: HTTP ${res.statusCode} ${await res.body.text()}`);
    const parser = new SseParser((m) => {
      if (m.type !== ARRIVED_EVENT) return;
      if (m.data === '') this.kick();
      else {
        try {
          this.take([decode(ArrivedEvent, JSON.parse(m.data), 'event')]);
        } catch (e) {
          void send({ kind: 'error', message: `arrived event: ${(e as Error).message}` });
        }
      }
    });
    // A character may straddle two chunks: decoded as a stream.
    const utf8 = new TextDecoder();
    void (async () => {
      try {
        for await (const chunk of res.body) parser.push(utf8.decode(chunk as Buffer, { stream: true }));
      } catch {
        // stopped
      }
    })();
  }

  private take(messages: readonly StoredMessage[]): void {
    for (const m of messages) {
      if (this.taken.has(m.id)) continue;
      this.taken.add(m.id);
      this.onPayment(m.envelope.transferId);
    }
    if (this.taken.size >= ACK_BATCH) this.kick();
  }

  private kick(): void {
    if (this.draining !== undefined) {
      this.again = true;
      return;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          let more = true;
          while (more) {
            const ack = [...this.taken];
            const answer = await drain(this.base, {
              owner: this.owner,
              address: this.address,
              serverKey: this.serverKey,
              ack,
            });
            this.drains++;
            for (const id of ack) this.taken.delete(id);
            this.take(answer.messages);
            more = answer.more;
          }
        } while (this.again);
      } catch (e) {
        void send({ kind: 'error', message: `drain: ${(e as Error).message}` });
      } finally {
        this.draining = undefined;
      }
    })();
  }

  stop(): void {
    this.abort.abort();
  }
}

async function run(o: DriverStart): Promise<void> {
  setHttpTransport(undiciTransport);
  const waiting = new Map<string, (at: number) => void>();
  const arrivedEarly = new Map<string, number>();
  const onPayment = (id: string) => {
    const at = traceClock();
    const w = waiting.get(id);
    if (w === undefined) arrivedEarly.set(id, at);
    else {
      waiting.delete(id);
      w(at);
    }
  };
  const terminals: Terminal[] = [];
  const byDirection = {} as Record<Direction, Terminal[]>;
  for (const direction of ['lan-to-wan', 'wan-to-lan'] as const) {
    const base = o.mailboxes[direction];
    const info = await mailboxInfo(base);
    const serverKey = hex(info.key, 'key', 32);
    byDirection[direction] = [];
    for (const t of o.terminals[direction]) {
      const owner = await keyPairFromPrivate(hex(t.privateKey, 'privateKey', 32));
      const terminal = new Terminal(base, t.address, owner, serverKey, onPayment);
      await terminal.watch();
      terminals.push(terminal);
      byDirection[direction].push(terminal);
    }
  }
  const queues: Record<Direction, DriverWork[]> = {
    'lan-to-wan': o.work.filter((w) => w.direction === 'lan-to-wan'),
    'wan-to-lan': o.work.filter((w) => w.direction === 'wan-to-lan'),
  };
  const finished: DriverFinished[] = [];
  let ranOut = false;
  let lastAt = 0;
  let retries = 0;
  const from = performance.now() + o.warmupSeconds * 1000;
  const deadline = from + o.seconds * 1000;
  const edges = [
    setTimeout(() => void send({ kind: 'edge', edge: 'open' }), from - performance.now()),
    setTimeout(() => void send({ kind: 'edge', edge: 'close' }), deadline - performance.now()),
  ];
  /** Posts one conversion (again after an unclear outcome) and waits for its payment to be drained. */
  const convert = async (direction: Direction, next: DriverWork) => {
    const id = next.envelope.transferId;
    const drained = new Promise<number>((resolve) => {
      const early = arrivedEarly.get(id);
      if (early !== undefined) resolve(early);
      else waiting.set(id, resolve);
    });
    const postedAt = traceClock();
    let status: TransferStatus | undefined;
    for (let tries = 1; status === undefined; tries++) {
      try {
        status = await call({
          base: direction === 'lan-to-wan' ? o.urls.lan : o.urls.wan,
          method: 'POST',
          path: direction === 'lan-to-wan' ? JOB1_PATH : JOB2_PATH,
          body: next.envelope,
          schema: TransferStatus,
        });
      } catch (e) {
        // A terminal posts the same envelope again: the gateway answers the same transfer.
        if (!isUnclear(e) || tries >= TRIES) throw e;
        retries++;
      }
    }
    if (status.state === 'refused')
      throw new Error(`conversion ${id} was refused: ${status.refusal?.detail}`);
    const drainedAt = await drained;
    const at = performance.now();
    const done: DriverFinished = { direction, id, notes: next.notes, postedAt, drainedAt };
    if (at >= from && at <= deadline) {
      finished.push(done);
      lastAt = at;
    }
    return done;
  };
  const closed = async (direction: Direction) => {
    const queue = queues[direction];
    while (performance.now() < deadline) {
      const next = queue.pop();
      if (next === undefined) {
        ranOut = true;
        return;
      }
      await convert(direction, next);
    }
  };
  const open: DriverOpenLoop = {
    posted: { 'lan-to-wan': 0, 'wan-to-lan': 0 },
    latencies: { 'lan-to-wan': [], 'wan-to-lan': [] },
    conversions: [],
    undrained: { 'lan-to-wan': 0, 'wan-to-lan': 0 },
    lateMs: { p50: 0, p99: 0, max: 0 },
  };
  const late: number[] = [];
  const opened = async (direction: Direction, rate: number) => {
    const queue = queues[direction];
    const t0 = performance.now();
    const running: Promise<void>[] = [];
    let failure: unknown;
    for (const at of poissonArrivals(rate, deadline - t0)) {
      const wait = t0 + at - performance.now();
      if (wait > 0) await sleep(wait);
      const now = performance.now();
      late.push(now - t0 - at);
      const next = queue.pop();
      if (next === undefined) {
        ranOut = true;
        break;
      }
      const inWindow = now >= from && now <= deadline;
      if (inWindow) open.posted[direction]++;
      running.push(
        convert(direction, next).then(
          (done) => {
            if (!inWindow) return;
            open.latencies[direction].push(done.drainedAt - done.postedAt);
            open.conversions.push(done);
          },
          (e: unknown) => {
            failure ??= e;
          },
        ),
      );
    }
    const all = Promise.all(running);
    await Promise.race([all, sleep(Math.max(0, deadline - performance.now()) + UNDRAINED_AFTER_MS)]);
    if (failure !== undefined) throw failure;
    open.undrained[direction] = open.posted[direction] - open.latencies[direction].length;
  };
  await Promise.all(
    (['lan-to-wan', 'wan-to-lan'] as const).flatMap((d) =>
      o.rate !== undefined ? [opened(d, o.rate)] : Array.from({ length: o.inFlight }, () => closed(d)),
    ),
  );
  const lateMs = latencySummary(late);
  open.lateMs = { p50: round1(lateMs.p50), p99: round1(lateMs.p99), max: round1(lateMs.max) };
  if (ranOut) for (const t of edges) clearTimeout(t);
  if (ranOut) void send({ kind: 'edge', edge: 'close' });
  else await sleep(Math.max(0, deadline - performance.now()));
  for (const t of terminals) t.stop();
  const drains = terminals.reduce((n, t) => n + t.drains, 0);
  await send({
    kind: 'result',
    finished,
    ranOut,
    seconds: ((ranOut ? lastAt : deadline) - from) / 1000,
    drains,
    retries,
    ...(o.rate !== undefined ? { open } : {}),
  });
}

process.once('message', (m: DriverStart) => {
  run(m).then(
    () => process.disconnect(),
    async (e: unknown) => {
      await send({ kind: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      process.disconnect();
    },
  );
});
void send({ kind: 'ready' });
