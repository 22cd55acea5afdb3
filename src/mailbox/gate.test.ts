/**
 * The mailbox's gate on writes from the network (`gate.ts`): at most `running` at once, the next
 * `waiting` queued in arrival order, the rest refused with `MailboxBusy`; one client at most
 * `perClient` of the waiting places; every way out gives the place back (done, failed, released
 * before running).
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

const busy = (gate: WriteGate, client?: string) => {
  try {
    gate.admit(client);
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

  it('gives one client at most `perClient` waiting places: another client still gets one', async () => {
    const gate = new WriteGate(2, 8, 2);
    // The attacker's writes: two run, two wait, the rest are refused (the old gate took all ten places).
    const works = Array.from({ length: 10 }, () => pending());
    const runs: Promise<string>[] = [];
    for (const w of works.slice(0, 4)) runs.push(gate.admit('attacker').run(w.work));
    for (let i = 4; i < 10; i++) expect(busy(gate, 'attacker')).toBe(true);
    await tick();
    expect(works.map((w) => w.started())).toEqual([true, true, ...Array<boolean>(8).fill(false)]);
    // Another client's drain gets a waiting place (the old gate had none left for it).
    const victim = pending();
    const theirs = gate.admit('victim').run(victim.work);
    expect([gate.waitingNow, gate.waitingClients]).toEqual([3, 2]);
    // Freed places go to the oldest waiting first; the attacker's share frees as its writes run.
    works[0]!.end();
    works[1]!.end();
    await tick();
    expect([works[2]!.started(), works[3]!.started(), victim.started()]).toEqual([true, true, false]);
    gate.admit('attacker').release(); // its waiting places are free again
    works[2]!.end();
    works[3]!.end();
    await tick();
    expect(victim.started()).toBe(true);
    victim.end();
    expect(await theirs).toBe('done');
    expect(await Promise.all(runs)).toEqual(['done', 'done', 'done', 'done']);
    expect([gate.inFlight, gate.waitingNow, gate.waitingClients]).toEqual([0, 0, 0]);
  });

  it('lets a client past its share while a running place is free; a caller without a client meets the total only', () => {
    const gate = new WriteGate(2, 4, 1);
    const a = [gate.admit('a'), gate.admit('a')]; // both would run at once on a quiet mailbox
    expect(busy(gate, 'a')).toBe(true); // a third must wait: past its one waiting place
    const b = gate.admit('b');
    const own = [gate.admit(), gate.admit()];
    const c = gate.admit('c');
    expect(busy(gate, 'd')).toBe(true); // 2 + 4 places taken
    expect(busy(gate)).toBe(true);
    for (const t of [...a, b, ...own, c]) t.release();
    expect([gate.waitingNow, gate.waitingClients]).toEqual([0, 0]);
  });
});
