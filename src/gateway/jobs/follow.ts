/**
 * Several gateway processes on one journal (docs/gateway.md, "Running several gateway processes"):
 * each process publishes the job changes it makes on its own in-process bus (`GatewayEvents`), and
 * this follower publishes there the changes the OTHER processes made, read from the journal every
 * `everyMs` (the jobs whose `updated_at` moved, indexed). So a live stream answered by one process
 * follows a transfer another process drives. A change this process published already (same job, same
 * state) is not published again; a job that passed through several states between two looks shows
 * the last one. Changes are looked for from a little before the last one seen, so a mover whose clock
 * runs behind by up to `overlapMs` is not missed. This process's own changes are left out twice over:
 * jobs it holds the lease of are not read, and a change is read only once it is `SETTLE_MS` old, by
 * when this process has published its own (an intake publishes right after its commit).
 */
import type { JobKind, TransferStatus } from '../../core/protocol/gateway.js';
import type { Store } from '../../store/index.js';
import type { GatewayEvents } from '../events.js';
import * as repo from './repository.js';

export interface JournalFollowerOptions {
  store: Store;
  events: GatewayEvents;
  /** This process's lease owner: jobs it holds are its own changes, published already. */
  leaseOwner: string;
  /** How often the journal is read; default 1 s. */
  everyMs?: number;
  /** How far back each look reaches before the last change seen; default 3 s. */
  overlapMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

/** How old a change must be before a look publishes it (this process publishes its own at once). */
const SETTLE_MS = 250;
/** Rows read per look at most (a busier second is read on over the next looks). */
const PAGE = 1000;
/** Jobs whose last published state is remembered; older ones are forgotten first. */
const REMEMBERED = 20_000;

export class JournalFollower {
  private readonly published = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private since = 0;
  private off: (() => void) | undefined;
  private looking: Promise<void> = Promise.resolve();

  constructor(private readonly o: JournalFollowerOptions) {}

  /** Starts following from now. */
  start(): void {
    if (this.timer !== undefined) return;
    this.since = Date.now() - (this.o.overlapMs ?? 3_000);
    // What this process publishes itself is known without a look.
    this.off = this.o.events.jobs.subscribeAll(({ status }) =>
      this.remember(status.transferId, status.state),
    );
    this.timer = setInterval(() => {
      this.looking = this.looking.then(() => this.look());
    }, this.o.everyMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.off?.();
    await this.looking;
  }

  /** One look at the journal: publishes every change not published yet. Never throws. */
  async look(): Promise<void> {
    try {
      // A change younger than `SETTLE_MS` may be this process's own, its publication not yet made.
      const until = Date.now() - SETTLE_MS;
      const rows = await repo.changedSince(this.o.store.db, this.since, until, PAGE, this.o.leaseOwner);
      for (const row of rows) {
        if (this.published.get(row.id) === row.state) continue;
        const refusal =
          row.refusal === null ? undefined : (JSON.parse(row.refusal) as TransferStatus['refusal']);
        const status: TransferStatus = {
          transferId: row.id,
          direction: row.direction,
          state: row.state,
          amount: row.amount,
          createdAt: Number(row.created_at),
          updatedAt: Number(row.updated_at),
          ...(refusal !== undefined ? { refusal } : {}),
        };
        this.o.events.jobs.publish(row.id, { kind: (row.kind ?? 'transfer') as JobKind, status });
      }
      const last = rows.at(-1);
      if (last !== undefined) {
        const at = Number(last.updated_at);
        // A full page: read on from its last change; else from a little before it (late clocks).
        this.since = rows.length === PAGE ? at : Math.max(this.since, at - (this.o.overlapMs ?? 3_000));
      }
    } catch (err) {
      this.o.log?.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'journal follower: look failed',
      );
    }
  }

  private remember(id: string, state: string): void {
    this.published.delete(id);
    this.published.set(id, state);
    if (this.published.size > REMEMBERED) {
      const oldest = this.published.keys().next().value;
      if (oldest !== undefined) this.published.delete(oldest);
    }
  }
}
