/**
 * The job runner: drives every job that has work (`active = 1`) whose next attempt is due, a bounded
 * number at once, each through its steps until it is finished or has to wait. A step that throws is
 * recorded by the service (`failed`) and tried again after an exponential backoff. At start-up every
 * unfinished job is made due at once, so a restart resumes everything (DESIGN §6, invariant 4).
 * Time and backoff are injected, so tests run the same schedule without waiting.
 *
 * A job is read once per run: each step answers the job as it left it, and the next step starts from
 * that. Within the process only the run holding a job (`inflight`) writes its row, and every write is
 * conditional on the state it read, so a job moved by anyone else is seen as a lost race and read again.
 */
import type { Logger } from 'pino';
import type { Store } from '../../store/index.js';
import type { Job } from './model.js';
import * as repo from './repository.js';

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
  /** Jobs driven at once; default 16. */
  concurrency?: number;
  backoff?: Backoff;
  clock?: () => number;
  /** Longest sleep between looks at the journal (a job made due by another process); default 1 s. */
  pollMs?: number;
  log?: Pick<Logger, 'warn' | 'error'>;
}

export class JobRunner {
  private readonly concurrency: number;
  private readonly backoff: Backoff;
  private readonly clock: () => number;
  private readonly pollMs: number;
  private readonly inflight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private again = false;
  private running = false;

  constructor(private readonly o: JobRunnerOptions) {
    this.concurrency = o.concurrency ?? 16;
    this.backoff = o.backoff ?? exponentialBackoff();
    this.clock = o.clock ?? Date.now;
    this.pollMs = o.pollMs ?? 1000;
  }

  /** Makes every unfinished job due now and starts driving jobs; returns how many were resumed. */
  async start(): Promise<number> {
    const resumed = await repo.resumeAll(this.o.store.db, this.clock());
    this.running = true;
    this.kick();
    return resumed;
  }

  /** Looks for due work now (after an intake, or when a test moved the clock). */
  kick(): void {
    if (!this.running) return;
    void this.pump();
  }

  /**
   * A job this process has just taken in, as written: driven at once when there is room, without
   * reading it back; otherwise the journal is looked at as after any kick.
   */
  offer(job: Job): void {
    if (!this.running) return;
    if (this.inflight.size < this.concurrency && !this.inflight.has(job.id)) this.launch(job.id, job);
    else this.kick();
  }

  /** Stops taking new work and waits for the steps in flight. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pumping;
    await Promise.all(this.inflight.values());
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
          await Promise.race(this.inflight.values());
        }
      }
    } finally {
      this.running = wasRunning;
      if (!wasRunning && this.timer !== undefined) clearTimeout(this.timer);
    }
  }

  /** One look at the journal: starts due jobs up to the concurrency bound, then sleeps until the next is due. */
  private pump(): Promise<void> {
    if (this.pumping !== undefined) {
      this.again = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      try {
        do {
          this.again = false;
          const room = this.concurrency - this.inflight.size;
          if (room <= 0 || !this.running) break;
          const due = await repo.dueJobs(this.o.store.db, this.clock(), room + this.inflight.size);
          for (const id of due) {
            if (this.inflight.size >= this.concurrency) break;
            if (!this.inflight.has(id)) this.launch(id);
          }
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

  private launch(id: string, known?: Job): void {
    const work = this.work(id, known).finally(() => {
      this.inflight.delete(id);
      this.kick();
    });
    this.inflight.set(id, work);
  }

  /** Runs a job's steps while they advance, each from the job the last one left; a failing step is recorded for a later retry. */
  private async work(id: string, first?: Job): Promise<void> {
    let known = first;
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
        return;
      }
      if (!outcome.advanced) return;
      known = outcome.job;
    }
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
