/**
 * The mailbox's gate on writes from the network (`gate.ts`): at most `running` at once, the next
 * `waiting` queued in arrival order, the rest refused with `MailboxBusy`; every way out gives the place
 * back (done, failed, released before running).
 */
import { describe, expect, it } from 'vitest';
import { isLancashError } from '../core/errors.js';
import { WriteGate } from './gate.js';

/** A piece of work the test ends by hand. */
function pending(): { work: () => Promise<string>; end: (fail?: boolean) => void; started: () => boolean } {
  let started = false;
  let end: (fail?: boolean) => void = () => {};
  const done = new Promise<string>((resolve, reject) => {
    end = (fail) => (fail ? reject(new Error('failed')) : resolve('done'));
  });
  return {
    work: () => {
      started = true;
      return done;
    },
    end: (fail) => end(fail),
    started: () => started,
  };
}

const busy = (gate: WriteGate) => {
  try {
    gate.admit();
    return false;
  } catch (e) {
    return isLancashError(e, 'MailboxBusy') && e.info.retryAfterSeconds === 1 && e.status === 429;
  }
};

/** Lets queued promise callbacks run. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WriteGate', () => {
  it('runs `running` at once, queues `waiting` in arrival order and refuses the rest', async () => {
    const gate = new WriteGate(2, 2);
    const works = [pending(), pending(), pending(), pending()];
    const runs = works.map((w) => gate.admit().run(w.work));
    const failed = runs[0]!.catch((e: unknown) => e);
    expect(busy(gate)).toBe(true);
    await tick();
    expect(works.map((w) => w.started())).toEqual([true, true, false, false]);
    expect(gate.inFlight).toBe(2);
    works[1]!.end();
    await tick();
    // The freed place went to the oldest queued write, and nobody else slipped in.
    expect(works.map((w) => w.started())).toEqual([true, true, true, false]);
    expect(gate.inFlight).toBe(2);
    // One place is free again for a new arrival (it queues behind the fourth).
    const fifth = pending();
    const late = gate.admit().run(fifth.work);
    expect(busy(gate)).toBe(true);
    works[0]!.end(true);
    works[2]!.end();
    await tick();
    expect([works[3]!.started(), fifth.started()]).toEqual([true, true]);
    works[3]!.end();
    fifth.end();
    expect(await failed).toEqual(new Error('failed'));
    expect(await Promise.all([runs[1], runs[2], runs[3], late])).toEqual(['done', 'done', 'done', 'done']);
    expect(gate.inFlight).toBe(0);
    // Every place is back.
    const again = Array.from({ length: 4 }, () => gate.admit());
    expect(busy(gate)).toBe(true);
    for (const t of again) t.release();
    expect(busy(gate)).toBe(false);
  });

  it('gives back the place of a ticket released before it ran (a request refused by a later check)', () => {
    const gate = new WriteGate(1, 0);
    const ticket = gate.admit();
    expect(busy(gate)).toBe(true);
    ticket.release();
    ticket.release(); // twice: nothing more
    const next = gate.admit();
    expect(busy(gate)).toBe(true);
    next.release();
    expect(gate.inFlight).toBe(0);
  });

  it('releases a running ticket once whatever the caller does after it', async () => {
    const gate = new WriteGate(1, 1);
    const ticket = gate.admit();
    const w = pending();
    const run = ticket.run(w.work);
    ticket.release(); // the caller's `finally` may come first, e.g. on a thrown check: the run holds on
    const queued = pending();
    const second = gate.admit().run(queued.work);
    await tick();
    expect(queued.started()).toBe(false);
    w.end();
    await run;
    ticket.release();
    await tick();
    expect(queued.started()).toBe(true);
    queued.end();
    await second;
    expect(gate.inFlight).toBe(0);
  });
});
