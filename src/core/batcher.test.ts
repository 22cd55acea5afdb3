/** The batcher: items queued while a batch runs form the next one; outcomes go to their own items. */
import { describe, expect, it } from 'vitest';
import { Batcher, type Outcome } from './batcher.js';

describe('Batcher', () => {
  it('items queued together form one batch; those queued while it runs form the next', async () => {
    const batches: number[][] = [];
    let next: Promise<number[]> | undefined;
    const b = new Batcher<number, number>(async (items) => {
      batches.push([...items]);
      // While the first batch runs, queue two more: they must wait for it and go together.
      if (batches.length === 1) next = Promise.all([b.run(10), b.run(11)]);
      await new Promise((resolve) => setImmediate(resolve));
      return items.map((i): Outcome<number> => ({ ok: true, value: i * 2 }));
    });
    expect(await Promise.all([b.run(1), b.run(2), b.run(3)])).toEqual([2, 4, 6]);
    expect(await next).toEqual([20, 22]);
    expect(batches).toEqual([
      [1, 2, 3],
      [10, 11],
    ]);
  });

  it('an item refused by the flush is refused alone; its neighbours get their values', async () => {
    const b = new Batcher<number, number>(async (items) =>
      items.map(
        (i): Outcome<number> => (i === 2 ? { ok: false, error: new Error('two') } : { ok: true, value: i }),
      ),
    );
    const r = await Promise.allSettled([b.run(1), b.run(2), b.run(3)]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('a flush that throws, or answers the wrong number of outcomes, fails every item of its batch', async () => {
    let calls = 0;
    const b = new Batcher<number, number>(async (items) => {
      calls++;
      if (calls === 1) throw new Error('lost');
      return items.slice(1).map((i): Outcome<number> => ({ ok: true, value: i }));
    });
    const first = await Promise.allSettled([b.run(1), b.run(2)]);
    expect(first.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    const second = await Promise.allSettled([b.run(3), b.run(4)]);
    expect(second.map((x) => x.status)).toEqual(['rejected', 'rejected']);
  });

  it('never more than maxGroup items a batch', async () => {
    const sizes: number[] = [];
    const b = new Batcher<number, number>(
      async (items) => {
        sizes.push(items.length);
        return items.map((i): Outcome<number> => ({ ok: true, value: i }));
      },
      { maxGroup: 2 },
    );
    await Promise.all([1, 2, 3, 4, 5].map((i) => b.run(i)));
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('with concurrency 2 the next batch is flushed while one runs, never a third', async () => {
    let running = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const b = new Batcher<number, number>(
      async (items) => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
        return items.map((i): Outcome<number> => ({ ok: true, value: i }));
      },
      { concurrency: 2 },
    );
    const first = b.run(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = b.run(2);
    await new Promise((resolve) => setImmediate(resolve));
    const third = b.run(3);
    await new Promise((resolve) => setImmediate(resolve));
    // Two batches wait on their gates; the third item waits in the queue.
    expect([running, gates.length]).toEqual([2, 2]);
    gates.shift()!();
    expect(await first).toBe(1);
    // The first batch done, the third item's batch is flushed beside the second.
    for (let turns = 0; turns < 10 && gates.length < 2; turns++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect([running, gates.length]).toEqual([2, 2]);
    for (const open of gates.splice(0)) open();
    expect(await Promise.all([second, third])).toEqual([2, 3]);
    expect(most).toBe(2);
  });
});
