/**
 * What one WAN client may make the gateway do (issue 8, docs/gateway.md "Intake bounds"). A job-2
 * intake costs the gateway curve work (a DLEQ check per note, in the crypto workers) and a call to the
 * wide bank (NUT-07 checkstate), and the bank rate-limits the gateway as ONE client: so each client
 * (by IP as the listener sees it; an IPv6 client by its /64) may have only so many notes in intake at once, all clients together
 * only so many more, and the bank calls intakes cause are drawn from a per-client and a shared token
 * bucket kept well below the bank's own limit, so the runner's calls always have room. Over a bound
 * the request is refused with 429 `RateLimited` before the work or the call, and nothing changes.
 * In memory only: a restart forgets it, as it may.
 */
import { fail } from '../../core/errors.js';
import { BucketsByClient, type Rate, TokenBucket } from '../../core/rate-limit.js';

export interface IntakeLimitsOptions {
  /** Notes one client may have in intake at once; at least the largest request. Default 2000. */
  notesPerClient: number;
  /** Notes all clients together may have in intake at once. Default 8000. */
  notesTotal: number;
  /** Bank calls one client's intakes may cause: a burst, refilled per second. Default 200, 100/s. */
  bankCallsPerClient: Rate;
  /** Bank calls all intakes together may cause. Default 500, 300/s (the bank allows 1000/s per client). */
  bankCallsTotal: Rate;
  /** Called with the bound that refused a request: for the operator's metrics. */
  onLimited?: (
    bound: 'notes-per-client' | 'notes-total' | 'bank-calls-per-client' | 'bank-calls-total',
  ) => void;
  clock?: () => number;
}

export const DEFAULT_INTAKE_LIMITS: IntakeLimitsOptions = {
  notesPerClient: 2000,
  notesTotal: 8000,
  bankCallsPerClient: { burst: 200, perSecond: 100 },
  bankCallsTotal: { burst: 500, perSecond: 300 },
};

/** Clients whose bank-call bucket is kept (least recently used dropped first; one dropped starts full). */
const BUCKETS = 10_000;

export class IntakeLimits {
  private readonly o: IntakeLimitsOptions;
  private readonly clock: () => number;
  private readonly inFlight = new Map<string, number>();
  private inFlightTotal = 0;
  private readonly buckets: BucketsByClient;
  private readonly total: TokenBucket;

  constructor(o: Partial<IntakeLimitsOptions> = {}) {
    this.o = { ...DEFAULT_INTAKE_LIMITS, ...o };
    this.clock = o.clock ?? Date.now;
    this.buckets = new BucketsByClient(this.o.bankCallsPerClient, BUCKETS);
    this.total = new TokenBucket(this.o.bankCallsTotal, this.clock());
  }

  /**
   * Takes `notes` into intake for `client`; answers the release, to call once the intake is over.
   * Throws `RateLimited` when the client's or everyone's notes in intake would pass their bound.
   */
  admit(client: string, notes: number): () => void {
    const mine = this.inFlight.get(client) ?? 0;
    // A client with nothing in flight may always send one request of any allowed size.
    if (mine > 0 && mine + notes > this.o.notesPerClient) this.limited('notes-per-client', 1);
    if (this.inFlightTotal > 0 && this.inFlightTotal + notes > this.o.notesTotal)
      this.limited('notes-total', 1);
    this.inFlight.set(client, mine + notes);
    this.inFlightTotal += notes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlightTotal -= notes;
      const left = (this.inFlight.get(client) ?? notes) - notes;
      if (left > 0) this.inFlight.set(client, left);
      else this.inFlight.delete(client);
    };
  }

  /** Takes one bank call for `client`'s intake; throws `RateLimited` when its or the shared bucket is empty. */
  bankCall(client: string): void {
    const now = this.clock();
    const mine = this.buckets.of(client, now);
    // Both checked before either is taken: a refused call takes nothing.
    const wait = mine.waitFor(now);
    if (wait > 0) this.limited('bank-calls-per-client', wait);
    const waitAll = this.total.waitFor(now);
    if (waitAll > 0) this.limited('bank-calls-total', waitAll);
    mine.take(now);
    this.total.take(now);
  }

  private limited(
    bound: Parameters<NonNullable<IntakeLimitsOptions['onLimited']>>[0],
    seconds: number,
  ): never {
    this.o.onLimited?.(bound);
    const retryAfterSeconds = Math.max(1, Math.ceil(seconds));
    return fail(
      'RateLimited',
      { retryAfterSeconds },
      `too many conversions in progress from this client (${bound}); retry in ${retryAfterSeconds} s`,
    );
  }
}
