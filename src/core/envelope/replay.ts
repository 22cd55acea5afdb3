/**
 * Replay refusal for envelopes (docs/design.md §3: replaying an envelope changes nothing). An in-memory set of
 * (sender, transfer id) pairs for tests and small callers; the servers keep the same pair under a unique
 * database key instead, so the check holds across processes and restarts.
 */
import { bytesToHex } from '../bytes.js';
import { fail } from '../errors.js';

export class ReplayGuard {
  private readonly seen = new Set<string>();

  /** Records the pair, or throws `EnvelopeReplayed` when it was seen before. Call it after a successful open. */
  check(sender: Uint8Array, transferId: string): void {
    const key = `${bytesToHex(sender)}/${transferId}`;
    if (this.seen.has(key)) {
      fail(
        'EnvelopeReplayed',
        { transferId },
        `transfer ${transferId} from ${bytesToHex(sender)} was already received`,
      );
    }
    this.seen.add(key);
  }

  /** How many pairs have been recorded (the set grows without bound: callers that live long use the database). */
  get size(): number {
    return this.seen.size;
  }
}
