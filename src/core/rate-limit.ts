/**
 * One token bucket for every per-client rate in lancash (the NUT-17 subscriptions' requests per
 * client, the gateway's bank calls per intake client and in all): `burst` tokens at most, refilled at
 * `perSecond`, one taken per request. Over any window of `t` seconds a bucket grants at most
 * `burst + perSecond × t` tokens, and it never holds fewer than zero nor more than `burst`, even when
 * the clock steps backwards (a wall clock set back): time that went backwards refills nothing.
 * `BucketsByClient` keeps one bucket per client, bounded (the clients choose their keys): the least
 * recently used is dropped first and, should that client come back, starts full, which only a client
 * that has been quiet while `bound` others were not can gain.
 */
import { lruGet } from './lru.js';

export interface Rate {
  /** Tokens a full bucket holds (the largest burst). */
  burst: number;
  /** Tokens added per second, up to `burst`. */
  perSecond: number;
}

export class TokenBucket {
  #tokens: number;
  /** When `#tokens` was last counted (ms, the caller's clock). */
  #at: number;

  constructor(
    readonly rate: Rate,
    now: number,
  ) {
    this.#tokens = rate.burst;
    this.#at = now;
  }

  /** Tokens in the bucket at `now` (a fraction when part of one has refilled). */
  tokens(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  /** Seconds until `n` tokens are in the bucket, counted at `now`: 0 when they are already. */
  waitFor(now: number, n = 1): number {
    this.#refill(now);
    return this.#tokens >= n ? 0 : (n - this.#tokens) / this.rate.perSecond;
  }

  /** Takes `n` tokens at `now` when the bucket holds them (true), or nothing (false). */
  take(now: number, n = 1): boolean {
    if (this.waitFor(now, n) > 0) return false;
    this.#tokens -= n;
    return true;
  }

  #refill(now: number): void {
    // A clock set back refills nothing and moves `#at` nowhere: the time is counted once it passes again.
    if (now <= this.#at) return;
    this.#tokens = Math.min(this.rate.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate.perSecond);
    this.#at = now;
  }
}

/** A `TokenBucket` per client, `bound` at most (least recently used dropped first; see the file comment). */
export class BucketsByClient {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(
    readonly rate: Rate,
    readonly bound: number,
  ) {}

  /** `client`'s bucket (a full one if it has none), now its most recently used. */
  of(client: string, now: number): TokenBucket {
    return lruGet(this.#buckets, client, this.bound, () => new TokenBucket(this.rate, now));
  }

  /** Buckets kept (for tests). */
  get size(): number {
    return this.#buckets.size;
  }
}
