/**
 * The job runner: drives every job that has work (`active = 1`) whose next attempt is due, a bounded
 * number at once, each through its steps until it is finished or has to wait. A step that throws is
 * recorded by the service (`failed`) and tried again after an exponential backoff. At start-up every
 * unfinished job is made due at once, so a restart resumes everything (docs/design.md §6, invariant 4).
 * Time and backoff are injected, so tests run the same schedule without waiting.
 *
 * Two lanes with their own bounds, so money never waits behind deliveries (issue 8, item 6): money
 * steps (`issuing`, `receiving`: a bank call and its journal entry) and deliveries (a payment in
 * `delivering`, a notice). Within the delivery lane each destination (an inbox URL's base, or a
 * built-in mailbox; `routeOf`) has at most `perDestination` deliveries at once, so one slow inbox
 * cannot hold the lane. A job whose step moves it into the other lane goes on in the same run when
 * that lane has room, else it is left due in the journal for the next look.
 *
 * A run that ends looks at the journal again only when due work may wait there unstarted (a look left
 * some for lack of room, a job was left due for the other lane, a step failed): otherwise the look
 * finds nothing new, and each finished conversion paid three queries for it. Jobs made due by other
 * processes are found by the timer, within `pollMs`.
 *
 * A job is read once per run: each step answers the job as it left it, and the next step starts from
 * that. Within the process only the run holding a job (`inflight`) writes its row, and every write is
 * conditional on the state it read, so a job moved by anyone else is seen as a lost race and read again.
 *
 * With `lease` (PostgreSQL, several processes on one journal; docs/gateway.md, "Running several
 * gateway processes") a run first holds the job's lease in the database: money jobs are claimed in
 * batches (`FOR UPDATE SKIP LOCKED`), a delivery or an offered job one by one, and a job its intake
 * wrote held by this process (`offer`'s `leased`) not at all; leases of the jobs in flight are renewed
 * every third of their time and given up when the run ends (by the step's own write when it left the
 * job settled), and every step's commit requires the lease (the services' `leaseOwner`). A process that dies leaves its leases to lapse:
 * another process takes its jobs within the lease's time and a look at the journal. A run whose step
 * lost its race ends there (its lease may be another's now): the next look reads the job again.
 */
import type { Logger } from 'pino';
import { traceStep } from '../../core/step-trace.js';
import type { Store } from '../../store/index.js';
import { type Job, settled } from './model.js';
import * as repo from './repository.js';

export type { Lease } from './repository.js';

/** How long to wait before attempt `attempt` (1 = the first retry). */
export interface Backoff {
  delayMs(attempt: number): number;
}

export interface ExponentialBackoffOptions {
  /** The first retry's delay; default 200 ms. */
  baseMs?: number;
  /** The longest delay; default 30 s. */
  capMs?: number;
  /** ± this fraction at random, so many jobs waiting on one outage do not retry in step; default 0.2. */
  jitter?: number;
  random?: () => number;
}

/** base · 2^(attempt−1), at most `capMs`, with jitter. */
export function exponentialBackoff(o: ExponentialBackoffOptions = {}): Backoff {
  const base = o.baseMs ?? 200;
  const cap = o.capMs ?? 30_000;
  const jitter = o.jitter ?? 0.2;
  const random = o.random ?? Math.random;
  return {
    delayMs(attempt) {
      const plain = Math.min(cap, base * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
      return Math.max(0, Math.round(plain * (1 + jitter * (2 * random() - 1))));
    },
  };
}

/**
 * What a step did. `advanced`: the job moved, run its next step at once, starting from `job` (the job
 * as this step wrote it) or, without one, from the journal. Not advanced: nothing to do now.
 */
export interface StepOutcome {
  advanced: boolean;
  job?: Job;
}

/** What the runner needs of the job services. */
export interface JobStepper {
  /** Runs the job's next step, from `known` (the job as this run's previous step left it) or the journal. */
  step(id: string, known?: Job): Promise<StepOutcome>;
  failed(id: string, error: unknown, delayMs: (attempt: number) => number): Promise<void>;
}

export interface JobRunnerOptions {
  jobs: JobStepper;
  store: Store;
  /** Jobs in a money step at once; default 16. */
  concurrency?: number;
  /** Deliveries (payments, notices) at once; default 32. */
  deliveryConcurrency?: number;
  /** Deliveries to one destination at once; default 8. */
  perDestination?: number;
  /** The destination a delivery to `address` goes to (deliveries to one share its bound); default the address. */
  routeOf?: (address: string) => string;
  backoff?: Backoff;
  clock?: () => number;
  /** Longest sleep between looks at the journal (a job made due by another process); default 1 s. */
  pollMs?: number;
  /** Hold each job's lease while it runs (several processes on one PostgreSQL journal); default none. */
  lease?: repo.Lease;
  log?: Pick<Logger, 'warn' | 'error'>;
}

/** Where a job runs: its lane and, for a delivery, its destination. */
interface Slot {
  lane: repo.Lane;
  route?: string;
}

/** A job in flight: the slot it holds now (none once it gave it up to wait for the other lane). */
interface Running {
  slot: Slot | undefined;
  work: Promise<void>;
  /** With leases: the run holds the job's lease (it gives it up when it ends). */
  held: boolean;
  /** The run ends with its job still due (no room, a retry, out of steps): its end looks for it. */
  leftDue: boolean;
}

/** Rows of due deliveries read per page, and most pages per look (see `fillDeliveries`). */
const DELIVERY_PAGE = 256;
const DELIVERY_PAGES = 4;

export class JobRunner {
  private readonly caps: Record<repo.Lane, number>;
  private readonly perDestination: number;
  private readonly routeOf: (address: string) => string;
  private readonly backoff: Backoff;
  private readonly clock: () => number;
  private readonly pollMs: number;
  private readonly inflight = new Map<string, Running>();
  private readonly used: Record<repo.Lane, number> = { money: 0, delivery: 0 };
  private readonly routes = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private again = false;
  private running = false;
  private renewer: NodeJS.Timeout | undefined;
  /** Whether due work may wait in the journal that no run started (see the file's comment). */
  private waiting = true;
  /** Runs ended so far: a look that left work waiting looks again if one ended meanwhile (room freed). */
  private ended = 0;

  constructor(private readonly o: JobRunnerOptions) {
    this.caps = { money: o.concurrency ?? 16, delivery: o.deliveryConcurrency ?? 32 };
    this.perDestination = o.perDestination ?? 8;
    this.routeOf = o.routeOf ?? ((address) => address);
    this.backoff = o.backoff ?? exponentialBackoff();
    this.clock = o.clock ?? Date.now;
    this.pollMs = o.pollMs ?? 1000;
  }

  /** Makes every unfinished job due now and starts driving jobs; returns how many were resumed. */
  async start(): Promise<number> {
    const resumed = await repo.resumeAll(this.o.store.db, this.clock());
    this.running = true;
    const lease = this.o.lease;
    if (lease !== undefined && this.renewer === undefined) {
      this.renewer = setInterval(() => void this.renew(lease), Math.max(1, Math.floor(lease.ttlMs / 3)));
      this.renewer.unref();
    }
    this.kick();
    return resumed;
  }

  /** Extends the leases of the jobs in flight; a failure is logged (commits check the lease anyway). */
  private async renew(lease: repo.Lease): Promise<void> {
    try {
      await repo.renewLeases(this.o.store.db, [...this.inflight.keys()], lease);
    } catch (err) {
      this.o.log?.warn({ err }, 'job runner: cannot renew the leases of the jobs in flight');
    }
  }

  /** Looks for due work now (after an intake, or when a test moved the clock). */
  kick(): void {
    if (!this.running) return;
    void this.pump();
  }

  /**
   * A job this process has just taken in (or an operator retried), as written: driven at once when its
   * lane has room, without reading it back; otherwise the journal is looked at as after any kick.
   * `leased`: the intake wrote the job held by this process (leases only), so its run claims nothing;
   * a job it cannot start now has its lease given up, for whichever process looks first.
   */
  offer(job: Job, leased = false): void {
    const lease = leased ? this.o.lease : undefined;
    const slot = this.slotOf(job) ?? { lane: 'money' };
    if (this.running && !this.inflight.has(job.id) && this.hasRoom(slot)) {
      this.launch(job.id, slot, job, lease !== undefined);
    } else if (lease !== undefined) {
      void this.giveUp(job.id, lease).then(() => this.kick());
    } else this.kick();
  }

  /** Stops taking new work and waits for the steps in flight. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pumping;
    await Promise.all([...this.inflight.values()].map((r) => r.work));
    clearInterval(this.renewer);
    this.renewer = undefined;
  }

  /**
   * Drives jobs until none is due and none is in flight (for tests and tools). Jobs waiting for a
   * later attempt stay waiting: move the clock and call again.
   */
  async settle(): Promise<void> {
    const wasRunning = this.running;
    this.running = true;
    try {
      for (;;) {
        await this.pump();
        if (this.inflight.size === 0) {
          const due = await repo.dueJobs(this.o.store.db, this.clock(), 1);
          if (due.length === 0) return;
        } else {
          await Promise.race([...this.inflight.values()].map((r) => r.work));
        }
      }
    } finally {
      this.running = wasRunning;
      if (!wasRunning && this.timer !== undefined) clearTimeout(this.timer);
    }
  }

  /** One look at the journal: starts due jobs up to each lane's bounds, then sleeps until the next is due. */
  private pump(): Promise<void> {
    if (this.pumping !== undefined) {
      this.again = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      try {
        do {
          this.again = false;
          if (!this.running) break;
          const ended = this.ended;
          this.waiting = false;
          const now = this.clock();
          const room = this.caps.money - this.used.money;
          if (room <= 0) this.waiting = true;
          else if (this.o.lease !== undefined) {
            // Claimed here, so each is launched; a job in flight holds its lease and is not among them.
            const claimed = await repo.claimDueMoney(this.o.store.db, now, room, this.o.lease);
            for (const row of claimed) {
              if (!this.inflight.has(row.id)) this.launch(row.id, { lane: 'money' }, undefined, true);
            }
            if (claimed.length >= room) this.waiting = true;
          } else {
            // Jobs in flight may be among the due ones (their row is not rewritten yet): read past them.
            const limit = room + this.inflight.size;
            const due = await repo.dueInLane(this.o.store.db, 'money', now, limit);
            for (const row of due) {
              if (this.used.money >= this.caps.money) {
                this.waiting = true;
                break;
              }
              if (!this.inflight.has(row.id)) this.launch(row.id, { lane: 'money' });
            }
            if (due.length >= limit) this.waiting = true;
          }
          if (this.used.delivery < this.caps.delivery) await this.fillDeliveries(now);
          else this.waiting = true;
          // Work left waiting while a run ended (its room freed) is looked for again at once.
          if (this.waiting && this.ended !== ended) this.again = true;
        } while (this.again);
        await this.sleep();
      } catch (err) {
        this.o.log?.error({ err }, 'job runner: cannot read the journal');
        this.arm(this.pollMs);
      } finally {
        this.pumping = undefined;
      }
    })();
    return this.pumping;
  }

  /**
   * Starts due deliveries, oldest first, skipping those whose destination is at its bound: they wait
   * (due) until one of its deliveries ends. Reads at most `DELIVERY_PAGES` pages a look, so a backlog
   * to one slow destination costs a bounded read; deliveries found directly after their money step
   * (`work`) do not need this look at all.
   */
  private async fillDeliveries(now: number): Promise<void> {
    let after: { at: number; id: string } | undefined;
    for (let page = 0; page < DELIVERY_PAGES; page++) {
      const leased = this.o.lease !== undefined;
      const rows = await repo.dueInLane(this.o.store.db, 'delivery', now, DELIVERY_PAGE, after, leased);
      for (const row of rows) {
        if (this.used.delivery >= this.caps.delivery) {
          this.waiting = true;
          return;
        }
        if (this.inflight.has(row.id)) continue;
        const slot = this.slotOfRow(row) ?? { lane: 'delivery' };
        if (this.hasRoom(slot)) this.launch(row.id, slot);
        else this.waiting = true;
      }
      const last = rows.at(-1);
      if (rows.length < DELIVERY_PAGE || last === undefined) return;
      after = { at: Number(last.next_attempt_at), id: last.id };
    }
    this.waiting = true;
  }

  /** Starts a run of job `id` in `slot`; `claimed`: its lease is held already (leases only). */
  private launch(id: string, slot: Slot, known?: Job, claimed = false): void {
    traceStep(id, 'run.start');
    this.take(slot);
    const running: Running = { slot, work: Promise.resolve(), held: claimed, leftDue: false };
    const lease = this.o.lease;
    running.work = this.work(id, running, known, claimed).finally(async () => {
      if (running.slot !== undefined) this.release(running.slot);
      this.inflight.delete(id);
      // Out of `inflight` first: from here on no renewal extends the lease this run gives up.
      if (lease !== undefined && running.held) await this.giveUp(id, lease);
      this.ended++;
      // After the lease is given up: a look while this run still held it could not start the job.
      if (this.waiting || running.leftDue) this.kick();
    });
    this.inflight.set(id, running);
  }

  /** Gives up this process's lease on job `id`; a failure is logged (the lease lapses by itself). */
  private async giveUp(id: string, lease: repo.Lease): Promise<void> {
    await repo.releaseLease(this.o.store.db, id, lease.owner).catch((err: unknown) => {
      this.o.log?.warn({ job: id, err }, 'job runner: cannot give up a lease; it lapses by itself');
    });
  }

  /**
   * Holds job `id`'s lease for this run (leases only): false when another process holds it. An offered
   * job (`known`) that changed before the claim is read again instead.
   */
  private async hold(
    id: string,
    lease: repo.Lease,
    known: Job | undefined,
  ): Promise<Job | undefined | false> {
    const now = await repo.claimJob(this.o.store.db, id, lease);
    if (now === undefined) return false;
    const same =
      known !== undefined && now.state === known.state && Number(now.updated_at) === known.updatedAt;
    return same ? known : undefined;
  }

  /**
   * Runs a job's steps while they advance, each from the job the last one left; a failing step is
   * recorded for a later retry. A job that moved into the other lane goes on when that lane has room.
   * With leases, a job not `claimed` yet is claimed first (without, its first step starts at once).
   */
  private async work(id: string, running: Running, first: Job | undefined, claimed: boolean): Promise<void> {
    let known = first;
    const lease = this.o.lease;
    if (lease !== undefined && !claimed) {
      try {
        const held = await this.hold(id, lease, first);
        if (held === false) {
          // Held elsewhere: maybe by this process's previous run of it, still giving its lease up.
          this.leftDue(running);
          return;
        }
        running.held = true;
        known = held;
      } catch (err) {
        this.o.log?.warn({ job: id, err }, 'job runner: cannot claim a job; the next look tries again');
        this.leftDue(running);
        return;
      }
    }
    for (let steps = 0; this.running && steps < 32; steps++) {
      let outcome: StepOutcome;
      try {
        outcome = await this.o.jobs.step(id, known);
      } catch (err) {
        this.o.log?.warn({ job: id, err }, 'job step did not finish; it will be retried');
        try {
          await this.o.jobs.failed(id, err, (attempt) => this.backoff.delayMs(attempt));
        } catch (again) {
          this.o.log?.error({ job: id, err: again }, 'cannot record a failed job step');
        }
        // Its retry is due later: the look after this run arms the timer for it.
        this.leftDue(running);
        return;
      }
      if (!outcome.advanced) return;
      // With leases a lost race may mean a lost lease: the run ends, and the next look reads the job.
      if (outcome.job === undefined && this.o.lease !== undefined) {
        this.leftDue(running);
        return;
      }
      known = outcome.job;
      // A job left settled gave its lease up in the step's own write: the run has none to give up.
      if (known !== undefined && settled(known.state, known.notice)) running.held = false;
      // Without the job (a lost race) its lane is unknown until read: it stays where it is.
      const next = known === undefined ? undefined : this.slotOf(known);
      if (next !== undefined && running.slot !== undefined && !sameSlot(next, running.slot)) {
        this.release(running.slot);
        running.slot = undefined;
        // The move left the job due now: the next look at the journal starts it when there is room.
        if (!this.hasRoom(next)) {
          this.leftDue(running);
          return;
        }
        this.take(next);
        running.slot = next;
      }
    }
    // Out of steps (or stopping) while the job still advances: it is due, for the next look.
    this.leftDue(running);
  }

  private leftDue(running: Running): void {
    running.leftDue = true;
    this.waiting = true;
  }

  private slotOf(job: Job): Slot | undefined {
    return this.slotOfRow({
      state: job.state,
      notice: job.notice,
      destination: job.destination,
      reply_to: job.replyTo,
    });
  }

  /** Money steps by state; a payment to its destination; a pending notice to `replyTo`; else nothing to place. */
  private slotOfRow(
    row: Pick<repo.DueRow, 'state' | 'notice' | 'destination' | 'reply_to'>,
  ): Slot | undefined {
    if (row.state === 'issuing' || row.state === 'receiving') return { lane: 'money' };
    if (row.state === 'delivering') return { lane: 'delivery', route: this.route(row.destination) };
    if (row.notice === 'pending' && row.reply_to !== null) {
      return { lane: 'delivery', route: this.route(row.reply_to) };
    }
    return undefined;
  }

  private route(address: string): string {
    try {
      return this.routeOf(address);
    } catch {
      // An address that cannot be routed fails at its step; it is bounded like one destination.
      return 'unroutable';
    }
  }

  private hasRoom(slot: Slot): boolean {
    if (this.used[slot.lane] >= this.caps[slot.lane]) return false;
    return slot.route === undefined || (this.routes.get(slot.route) ?? 0) < this.perDestination;
  }

  private take(slot: Slot): void {
    this.used[slot.lane] += 1;
    if (slot.route !== undefined) this.routes.set(slot.route, (this.routes.get(slot.route) ?? 0) + 1);
  }

  private release(slot: Slot): void {
    this.used[slot.lane] -= 1;
    if (slot.route === undefined) return;
    const n = (this.routes.get(slot.route) ?? 1) - 1;
    if (n <= 0) this.routes.delete(slot.route);
    else this.routes.set(slot.route, n);
  }

  private async sleep(): Promise<void> {
    if (!this.running) return;
    const next = await repo.nextDueAt(this.o.store.db);
    const now = this.clock();
    // Work due now is in flight or waits for room: a finishing job kicks the runner, so only poll.
    this.arm(next === undefined || next <= now ? this.pollMs : Math.min(this.pollMs, next - now));
  }

  private arm(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, ms);
    this.timer.unref();
  }
}

function sameSlot(a: Slot, b: Slot): boolean {
  return a.lane === b.lane && a.route === b.route;
}
