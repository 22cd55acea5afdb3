/**
 * The bound on strangers' writes to a mailbox at once (deposits from the network, drains, watches).
 * On PostgreSQL each holds a pooled connection through its own commit (`Mailbox.commit`); the
 * per-client rate limit bounds one client, not many together, so without a total bound clients from
 * many addresses could hold every connection of the pool and make the server's own writes (the wide
 * bank's issues and receives, a gateway's steps) wait behind them. `running` writes at most are in the
 * database; `waiting` more wait here, in arrival order, holding no connection; past both a request is
 * refused before any database work (429 `MailboxBusy` with `Retry-After`). The server's own and trusted
 * depositors' writes never pass through the gate.
 *
 * Fair among clients: one client (an IPv4 address, an IPv6 /64: `clientOf`, as the deposit quotas
 * count clients) holds at most `perClient` of the waiting places, so a client sending many writes at
 * once (many connections, or many addresses of its /64) cannot take every waiting place and turn
 * everyone else away; its excess is refused with the same 429, before any decryption or database work.
 */
import { fail } from '../core/errors.js';

/** How long a client refused by the gate is told to wait (`Retry-After`). */
export const BUSY_RETRY_AFTER_SECONDS = 1;

/** A place in the gate, taken by `WriteGate.admit`; `release` it once, whatever happened. */
export interface GateTicket {
  /** Runs `work` once one of the `running` places is free (at once, if one is). */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Gives the place back if it has not run (again, or once `run` began: nothing). */
  release(): void;
}

export class WriteGate {
  /** Tickets holding one of the `running` places. */
  #running = 0;
  /** Tickets admitted that hold no running place yet (between `admit` and `run`, or queued in `run`). */
  #admitted = 0;
  /** Wake-ups of the tickets queued in `run`, oldest first. */
  readonly #queue: (() => void)[] = [];
  /** Each client's admitted tickets that hold no running place yet (as `#admitted`); none: not kept. */
  readonly #waitingOf = new Map<string, number>();

  /**
   * `perClient`: waiting places one client may hold (at least 1; default all of them). Clients are
   * kept only while they hold one, so the map is bounded by `waiting`.
   */
  constructor(
    readonly running: number,
    readonly waiting: number,
    readonly perClient = waiting,
  ) {}

  /** Writes in the database now (for tests and metrics). */
  get inFlight(): number {
    return this.#running;
  }

  /** Writes admitted that wait for a place (opening their envelope, or queued). */
  get waitingNow(): number {
    return this.#admitted;
  }

  /**
   * A place for one write of `client` (none: an in-process caller, bound by the total only), or 429
   * `MailboxBusy` when `running + waiting` places are taken or `client` holds `perClient` waiting
   * places. Synchronous and cheap, so a refused request costs no decryption and no database.
   */
  admit(client?: string): GateTicket {
    if (this.#running + this.#admitted >= this.running + this.waiting) {
      this.#busy(
        `the mailbox has ${this.running} writes from the network running and ${this.waiting} waiting`,
      );
    }
    const mine = client === undefined ? 0 : (this.#waitingOf.get(client) ?? 0);
    // Past its share only if it must wait: with a running place free (not even claimed by an admitted
    // ticket), a client's second write at once on a quiet mailbox is no unfairness.
    const mustWait = this.#running + this.#admitted >= this.running;
    if (client !== undefined && mustWait && mine >= Math.max(1, this.perClient)) {
      this.#busy(`this client has ${mine} writes waiting, its most`);
    }
    this.#admitted++;
    if (client !== undefined) this.#waitingOf.set(client, mine + 1);
    /** This ticket no longer waits (it runs, or is released before running). */
    const stopWaiting = () => {
      this.#admitted--;
      if (client === undefined) return;
      const left = (this.#waitingOf.get(client) ?? 1) - 1;
      if (left > 0) this.#waitingOf.set(client, left);
      else this.#waitingOf.delete(client);
    };
    // Once `run` has begun, it alone gives the place back (when `work` ends): a `release` meanwhile
    // (the caller's `finally` around a `run` it did not await) changes nothing.
    let state: 'admitted' | 'running' | 'released' = 'admitted';
    const release = () => {
      if (state !== 'admitted') return;
      stopWaiting();
      state = 'released';
    };
    return {
      run: async (work) => {
        if (state !== 'admitted') throw new Error('mailbox gate: a ticket runs once, before its release');
        state = 'running';
        if (this.#running >= this.running) await new Promise<void>((resolve) => this.#queue.push(resolve));
        else this.#running++;
        // `#leave` handed its running place straight to this ticket (counted there), so nobody slips in.
        stopWaiting();
        try {
          return await work();
        } finally {
          state = 'released';
          this.#leave();
        }
      },
      release,
    };
  }

  /** Clients holding waiting places now (for tests: bounded by `waiting`). */
  get waitingClients(): number {
    return this.#waitingOf.size;
  }

  #busy(why: string): never {
    return fail(
      'MailboxBusy',
      { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS },
      `${why}; retry in ${BUSY_RETRY_AFTER_SECONDS} s`,
    );
  }

  /** A running place is free: handed to the oldest queued ticket, or given back. */
  #leave(): void {
    const next = this.#queue.shift();
    if (next !== undefined) next();
    else this.#running--;
  }
}
