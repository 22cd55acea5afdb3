/**
 * A gateway journal row for tests that write `gateway_jobs` directly: an active lan-to-wan job of 1 in
 * `issuing`, due now, with `overrides` on top.
 */
import type { JobRow } from '../gateway/jobs/repository.js';

export function jobRow(id: string, overrides: Partial<JobRow> = {}): JobRow {
  return {
    id,
    direction: 'lan-to-wan',
    state: 'issuing',
    active: 1,
    sender_key: 'aa'.repeat(32),
    request_hash: 'bb'.repeat(32),
    destination: 'wan1…',
    destination_key: 'cc'.repeat(32),
    reply_to: null,
    amount: 1,
    journal: '{"outputs":[]}',
    notice: 'none',
    refusal: null,
    attempts: 0,
    next_attempt_at: 0,
    last_error: null,
    created_at: 0,
    updated_at: 0,
    ...overrides,
  };
}
