/**
 * The reads of the job journal (docs/gateway.md): a job as the steps see it (`toJob`), a transfer's
 * status as a listener shows it, and a terminal's history with every state change. Nothing here writes.
 */
import { fail } from '../../core/errors.js';
import type { Direction, JobKind, TransferStatus } from '../../core/protocol/gateway.js';
import type { HistoryEntry } from '../../core/protocol/operator.js';
import type { Store } from '../../store/index.js';
import {
  type Job,
  type JobEvent,
  type JobHead,
  type Journal,
  type JournalHead,
  mergeJournal,
  toStatus,
} from './model.js';
import * as repo from './repository.js';

type Db = Store['db'];

/** A job's status; not found when it is not of `direction` (and `kind`), when given. */
export async function statusOf(
  db: Db,
  id: string,
  direction?: Direction,
  kind?: JobKind,
): Promise<TransferStatus> {
  const row = await repo.getJob(db, id);
  if (
    row === undefined ||
    (direction !== undefined && row.direction !== direction) ||
    (kind !== undefined && (row.kind ?? 'transfer') !== kind)
  ) {
    fail('NotFound', { what: 'transfer', id }, `no transfer ${id}`);
  }
  return toStatus(toJobHead(row));
}

/** A job with its whole journal (its row and its bulk), as a step starts from it. */
export async function jobOf(db: Db, id: string): Promise<Job | undefined> {
  const row = await repo.getJob(db, id);
  if (row === undefined) return undefined;
  return toJob(row, mergeJournal(row.journal, await repo.bulkOf(db, id)));
}

/** Every conversion a terminal key sent or received, newest first, with its state changes. */
export async function historyOf(
  db: Db,
  key: string,
  o: { limit?: number; before?: number } = {},
): Promise<HistoryEntry[]> {
  const rows = await repo.jobsOfKey(
    db,
    key.toLowerCase(),
    o.limit ?? 100,
    o.before ?? Number.MAX_SAFE_INTEGER,
  );
  const events = new Map<string, JobEvent[]>();
  for (const e of await repo.eventsOf(
    db,
    rows.map((r) => r.id),
  )) {
    const list = events.get(e.job_id) ?? [];
    list.push({
      seq: Number(e.seq),
      from: e.from_state,
      to: e.to_state,
      at: Number(e.at),
      detail: e.detail,
    });
    events.set(e.job_id, list);
  }
  return rows.map((r) => {
    const job = toJobHead(r);
    return {
      ...toStatus(job),
      kind: job.kind,
      ...(job.ref !== null ? { ref: job.ref } : {}),
      sender: job.senderKey,
      destination: job.destination,
      ...(job.replyTo !== null ? { replyTo: job.replyTo } : {}),
      notice: job.notice,
      ...(job.lastError !== null ? { lastError: job.lastError } : {}),
      ...(job.parkedAt !== undefined ? { parkedAt: job.parkedAt } : {}),
      events: events.get(job.id) ?? [],
    };
  });
}

/** A journal row with its whole `journal` (as written, or `mergeJournal`'s): a job as the steps see it. */
export function toJob(r: repo.JobRow, journal: Journal): Job {
  return { ...toJobHead(r), journal };
}

/** A journal row alone (numbers as numbers, the JSON columns parsed): the journal's head only. */
export function toJobHead(r: repo.JobRow): JobHead {
  return {
    id: r.id,
    kind: r.kind ?? 'transfer',
    ref: r.ref ?? null,
    direction: r.direction,
    state: r.state,
    senderKey: r.sender_key,
    requestHash: r.request_hash,
    destination: r.destination,
    destinationKey: r.destination_key,
    replyTo: r.reply_to,
    amount: Number(r.amount),
    journal: JSON.parse(r.journal) as JournalHead,
    notice: r.notice,
    refusal: r.refusal === null ? null : (JSON.parse(r.refusal) as Job['refusal']),
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    lastError: r.last_error,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    ...(r.parked_at != null ? { parkedAt: Number(r.parked_at) } : {}),
  };
}
