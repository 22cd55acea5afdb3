/**
 * A `WalletStore` in memory: for tests (a "crash" is dropping the `Wallet` and opening a new one on the
 * same store) and for a browser session that keeps nothing. Values are copied in and out, so a caller
 * can never change what is stored without a commit.
 */
import { fail } from '../core/errors.js';
import type { NoteQuery, Operation, StoredNote, WalletChange, WalletConfig, WalletStore } from './store.js';
import { TERMINAL_STATES } from './store.js';

export class MemoryWalletStore implements WalletStore {
  private config: WalletConfig | undefined;
  private readonly noteMap = new Map<string, StoredNote>();
  private readonly operationMap = new Map<string, Operation>();
  private readonly seenKeys = new Set<string>();
  private readonly counters = new Map<string, number>();

  async readConfig(): Promise<WalletConfig | undefined> {
    return this.config && structuredClone(this.config);
  }

  async writeConfig(config: WalletConfig): Promise<void> {
    if (this.config) fail('WalletExists', { reason: 'configured' }, 'a wallet already exists in this store');
    this.config = structuredClone(config);
  }

  async notes(q: NoteQuery = {}): Promise<StoredNote[]> {
    return [...this.noteMap.values()]
      .filter((n) => (q.state === undefined || n.state === q.state) && matchesOperation(n, q))
      .map((n) => structuredClone(n));
  }

  async operation(id: string): Promise<Operation | undefined> {
    const op = this.operationMap.get(id);
    return op && structuredClone(op);
  }

  async operations(q: { open?: boolean } = {}): Promise<Operation[]> {
    return [...this.operationMap.values()]
      .filter((op) => !q.open || !TERMINAL_STATES.includes(op.state))
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((op) => structuredClone(op));
  }

  async hasSeen(key: string): Promise<boolean> {
    return this.seenKeys.has(key);
  }

  async counter(keysetId: string): Promise<number> {
    return this.counters.get(keysetId) ?? 0;
  }

  async reserveCounters(keysetId: string, n: number): Promise<number> {
    const first = this.counters.get(keysetId) ?? 0;
    this.counters.set(keysetId, first + n);
    return first;
  }

  async commit(change: WalletChange): Promise<void> {
    // Check first, then write: nothing is applied when the reservation fails.
    if (change.reserve) {
      for (const secret of change.reserve.secrets) {
        if (this.noteMap.get(secret)?.state !== 'unspent') notesBusy();
      }
    }
    for (const n of change.notes ?? []) this.noteMap.set(n.proof.secret, structuredClone(n));
    if (change.reserve) {
      for (const secret of change.reserve.secrets) {
        const n = this.noteMap.get(secret)!;
        this.noteMap.set(secret, { ...n, state: 'pending', operation: change.reserve.operation });
      }
    }
    if (change.operation) this.operationMap.set(change.operation.id, structuredClone(change.operation));
    for (const key of change.seen ?? []) this.seenKeys.add(key);
    for (const [id, next] of Object.entries(change.counters ?? {})) {
      this.counters.set(id, Math.max(this.counters.get(id) ?? 0, next));
    }
  }

  async close(): Promise<void> {}
}

function matchesOperation(n: StoredNote, q: NoteQuery): boolean {
  return q.operation === undefined || n.operation === q.operation;
}

/** A reservation met a note that is no longer unspent: another process (or operation) took it. */
export function notesBusy(): never {
  return fail(
    'WalletBusy',
    { reason: 'notes changed' },
    'the notes chosen for this payment were taken by another operation; try again',
  );
}
