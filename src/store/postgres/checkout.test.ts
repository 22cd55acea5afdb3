/**
 * A PostgreSQL store's checkout of a pooled connection is bounded (`checkoutTimeoutMs`): behind an
 * exhausted pool (every connection held by slow writers, a lock wait, a flood) a statement, a
 * transaction and an HTTP route answer 503 `StorageUnavailable` (79001, retry later) instead of
 * waiting for as long as the connections stay taken, having done nothing; once a connection is free
 * the same request succeeds. A server that never answers the connect is bounded the same way.
 * Each refusal here arrives while the connection is still held (released only after it), so it came
 * from the bound, not from the pool freeing up; no test measures a time.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultCurve } from '../../core/crypto/index.js';
import { createServer, type LancashServer, listen } from '../../core/http/server.js';
import { registerMintRoutes } from '../../mint/http.js';
import { Mint } from '../../mint/mint.js';
import { DIALECTS, freshDatabaseUrl } from '../../test-support/dialects.js';
import { type Held, holdInTransaction } from '../../test-support/held.js';
import { type Answer, sendJson } from '../../test-support/http.js';
import { issue, makeOutputs } from '../../test-support/notes.js';
import { refusalOf } from '../../test-support/refusals.js';
import { openStore, type Store } from '../index.js';
import { CHECKOUT_TIMEOUT_MS, checkoutTimedOut, poolConfig } from './connect.js';

/** Short, so a refused checkout costs the test little; the bound itself is what is tested. */
const TIMEOUT_MS = 300;

describe('poolConfig: the checkout bound', () => {
  const url = 'postgres://u@localhost/db';
  it('bounds a checkout by default (5 s) and takes checkoutTimeoutMs', () => {
    expect(CHECKOUT_TIMEOUT_MS).toBe(5_000);
    expect(poolConfig({ url }).connectionTimeoutMillis).toBe(CHECKOUT_TIMEOUT_MS);
    expect(poolConfig({ url, checkoutTimeoutMs: 750 }).connectionTimeoutMillis).toBe(750);
  });

  it('refuses a bound that is none (0: pg-pool waits forever) or not a whole number of ms, and a pool of none', async () => {
    for (const checkoutTimeoutMs of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const e = await refusalOf(openStore({ dialect: 'postgres', url, checkoutTimeoutMs }));
      expect([e.kind, e.info]).toEqual([
        'InvalidInput',
        {
          argument: 'checkoutTimeoutMs',
          expected: 'a positive integer',
          received: String(checkoutTimeoutMs),
        },
      ]);
    }
    const e = await refusalOf(openStore({ dialect: 'postgres', url, poolSize: 0 }));
    expect([e.kind, e.info]).toMatchObject(['InvalidInput', { argument: 'poolSize' }]);
  });

  it('maps pg-pool’s two timeout errors to StorageUnavailable, and nothing else', () => {
    const queued = checkoutTimedOut(new Error('timeout exceeded when trying to connect'), 300);
    expect(queued).toMatchObject({ kind: 'StorageUnavailable', code: 79001, status: 503 });
    expect((queued as Error).message).toBe(
      'no database connection became free within 300 ms: the server is busy, retry later',
    );
    const connecting = checkoutTimedOut(new Error('Connection terminated due to connection timeout'), 300);
    expect(connecting).toMatchObject({ kind: 'StorageUnavailable', code: 79001 });
    const other = new Error('password authentication failed');
    expect(checkoutTimedOut(other, 300)).toBe(other);
  });
});

describe('a server that accepts the connection and never answers', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    silent = createTcpServer((socket) => {
      sockets.push(socket); // read nothing, answer nothing
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('is StorageUnavailable once the bound passes (it waited forever before)', async () => {
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    const url = `postgres://u@127.0.0.1:${address.port}/db`;
    const e = await refusalOf(openStore({ dialect: 'postgres', url, checkoutTimeoutMs: TIMEOUT_MS }));
    expect(e.kind).toBe('StorageUnavailable');
    expect(e.message).toBe(`could not connect to the database within ${TIMEOUT_MS} ms: retry later`);
  });
});

describe.runIf(DIALECTS.includes('postgres'))('an exhausted pool (one connection, held)', () => {
  let store: Store;
  let held: Held | undefined;
  beforeAll(async () => {
    const url = await freshDatabaseUrl('postgres');
    store = await openStore({ dialect: 'postgres', url, poolSize: 1, checkoutTimeoutMs: TIMEOUT_MS });
  });
  afterEach(async () => {
    await held?.release();
    held = undefined;
  });
  afterAll(() => store?.close());

  /** Another transaction of the same store takes the pool's only connection until released. */
  const holdThePool = async () => {
    held = await holdInTransaction(store, (trx) =>
      trx.insertInto('settings').values({ key: 'holder', value: 'held' }).execute(),
    );
  };
  const read = (key: string) =>
    store.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();

  it('refuses a statement and a transaction with 503 StorageUnavailable; they run once it is free', async () => {
    await holdThePool();
    const statement = await refusalOf(read('holder'));
    expect([statement.kind, statement.code, statement.status]).toEqual(['StorageUnavailable', 79001, 503]);
    expect(statement.message).toBe(
      `no database connection became free within ${TIMEOUT_MS} ms: the server is busy, retry later`,
    );
    let ran = 0;
    const write = () =>
      store.transaction(async (trx) => {
        ran++;
        await trx.insertInto('settings').values({ key: 'after', value: '1' }).execute();
      });
    expect((await refusalOf(write())).kind).toBe('StorageUnavailable');
    expect(ran).toBe(0); // the checkout failed before the transaction began: nothing ran

    await held?.release();
    held = undefined;
    expect(await read('holder')).toEqual({ value: 'held' }); // the holder itself committed
    expect(await read('after')).toBeUndefined();
    await write();
    expect([ran, await read('after')]).toEqual([1, { value: '1' }]);
  });

  it('rolls back a transaction whose work began and that then waits for a second connection', async () => {
    // A transaction that reads through the store's own handle instead of `trx` (a bug) waits for a
    // connection while holding one: with one connection, for ever before the bound.
    const e = await refusalOf(
      store.transaction(async (trx) => {
        await trx.insertInto('settings').values({ key: 'half-done', value: '1' }).execute();
        await read('half-done');
      }),
    );
    expect(e.kind).toBe('StorageUnavailable');
    expect(await read('half-done')).toBeUndefined();
  });
});

describe.runIf(DIALECTS.includes('postgres'))('the wide bank’s mint routes behind an exhausted pool', () => {
  const curve = defaultCurve();
  let store: Store;
  let mint: Mint;
  let app: LancashServer;
  let base: string;
  beforeAll(async () => {
    const url = await freshDatabaseUrl('postgres');
    store = await openStore({ dialect: 'postgres', url, poolSize: 1, checkoutTimeoutMs: TIMEOUT_MS });
    mint = await Mint.open({ store, unit: 'eur', curve });
    app = await createServer({ name: 'mint', logger: false, rateLimit: false });
    registerMintRoutes(app, { mint, info: () => ({ name: 'pool', version: 'lancash/test', nuts: {} }) });
    base = await listen(app, '127.0.0.1:0');
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  it('answers a swap 503 79001 with nothing spent, and the same swap succeeds once the pool frees', async () => {
    const inputs = await issue(curve, mint, [8]);
    const outputs = makeOutputs(curve, mint.keysets.current().id, [8]).map((o) => o.message);
    const [Y] = (await mint.prepareInputs(inputs)).Ys;
    const held = await holdInTransaction(store, (trx) => sql`select 1`.execute(trx));
    let refused: Answer;
    let state: Answer;
    try {
      refused = await sendJson(base, 'POST', '/v1/swap', { inputs, outputs });
      state = await sendJson(base, 'POST', '/v1/checkstate', { Ys: [Y] });
    } finally {
      await held.release();
    }
    expect(refused.status, JSON.stringify(refused.json)).toBe(503);
    expect(refused.json).toMatchObject({ code: 79001, error: 'StorageUnavailable' });
    expect(refused.json.detail).toContain('retry later');
    expect([state.status, state.json.code]).toEqual([503, 79001]);

    const after = await sendJson(base, 'POST', '/v1/checkstate', { Ys: [Y] });
    expect(after.json.states).toEqual([{ Y, state: 'UNSPENT', witness: null }]);
    const restored = await sendJson(base, 'POST', '/v1/restore', { outputs });
    expect(restored.json.signatures).toEqual([]); // nothing signed either
    const swapped = await sendJson(base, 'POST', '/v1/swap', { inputs, outputs });
    expect(swapped.status, JSON.stringify(swapped.json)).toBe(200);
    expect(swapped.json.signatures).toHaveLength(1);
  });
});
