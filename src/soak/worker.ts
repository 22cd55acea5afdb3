/**
 * A soak traffic worker: its own process driving several wallets (the wallet library on SQLite
 * stores, as the CLI runs it) against the real servers: same-network payments, conversions both
 * ways, WAN purchases over the fake Lightning backend, inbox drains, amounts drawn from a range.
 * Each wallet does one thing at a time; the worker counts what happened and how long it took.
 * Started by `runSoak` with an IPC channel (messages.ts).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from '../core/address/index.js';
import { defaultCurve } from '../core/crypto/index.js';
import { Wallet } from '../wallet/index.js';
import { nodeNet } from '../wallet/node/net.js';
import { SqliteWalletStore } from '../wallet/node/sqlite-store.js';
import type { FromWorker, OpKind, OpStats, ToWorker, WalletFinal } from './messages.js';
import { type Random, seeded } from './random.js';

type Init = Extract<ToWorker, { type: 'init' }>;

interface Terminal {
  network: Network;
  wallet: Wallet;
  store: SqliteWalletStore;
  random: Random;
}

const send = (m: FromWorker) => process.send?.(m);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ops: Partial<Record<OpKind, OpStats>> = {};
const lastErrors: string[] = [];
let stopping = false;
let loops: Promise<void>[] = [];
let terminals: Terminal[] = [];
let init: Init;

function stats(kind: OpKind): OpStats {
  ops[kind] ??= { ok: 0, failed: 0, open: 0, errors: 0, latencies: [] };
  return ops[kind];
}

function noteError(kind: string, e: unknown): void {
  lastErrors.push(`${kind}: ${e instanceof Error ? e.message : String(e)}`.slice(0, 300));
  if (lastErrors.length > 20) lastErrors.shift();
}

/** Runs one operation, counted under `kind` by how it ended. */
async function counted(kind: OpKind, run: () => Promise<{ state: string } | undefined>): Promise<boolean> {
  const s = stats(kind);
  const t0 = performance.now();
  try {
    const op = await run();
    const state = op?.state ?? 'done';
    if (state === 'done') {
      s.ok += 1;
      s.latencies.push(Math.round(performance.now() - t0));
    } else if (state === 'failed') s.failed += 1;
    else s.open += 1;
    return true;
  } catch (e) {
    s.errors += 1;
    noteError(kind, e);
    return false;
  }
}

async function setUp(o: Init): Promise<void> {
  init = o;
  const random = seeded(o.seed);
  const curve = defaultCurve();
  const net = nodeNet();
  const make = async (network: Network, i: number): Promise<Terminal> => {
    const home = join(o.dir, `w${o.index}-${network}${i}`);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const store = new SqliteWalletStore(join(home, 'wallet.db'));
    const at = network === 'lan' ? o.lan : o.wan;
    const { wallet } = await Wallet.create({ store, net, curve, network, ...at });
    return { network, wallet, store, random: random.fork() };
  };
  for (let i = 0; i < o.wallets.lan; i++) terminals.push(await make('lan', i));
  for (let i = 0; i < o.wallets.wan; i++) terminals.push(await make('wan', i));
  send({
    type: 'ready',
    addresses: terminals.map((t) => ({ address: t.wallet.address, network: t.network })),
  });
}

/** One wallet's traffic until told to stop. */
async function drive(t: Terminal, addresses: { address: string; network: Network }[]): Promise<void> {
  const others = (network: Network) =>
    addresses.filter((a) => a.network === network && a.address !== t.wallet.address).map((a) => a.address);
  const same = others(t.network);
  const other = others(t.network === 'lan' ? 'wan' : 'lan');
  const { min, max } = init.amount;
  while (!stopping) {
    const received = await counted('receive', async () => {
      await t.wallet.receive();
      return undefined;
    });
    // A peer down (a kill, a fault): pause as a person would, rather than hammer it.
    if (!received) await sleep(t.random.int(500, 1500));
    const { available } = await t.wallet.balance();
    if (available < min) {
      if (t.network === 'wan') await counted('wan-mint', () => t.wallet.mintFromLightning(init.mintAmount));
      else await sleep(t.random.int(200, 800)); // a LAN wallet waits for payroll or a conversion
      continue;
    }
    const amount = t.random.int(min, Math.min(max, available));
    const convert = t.random.next() < 0.5;
    const to = t.random.pick(convert ? other : same);
    const kind: OpKind = convert
      ? t.network === 'lan'
        ? 'lan-to-wan'
        : 'wan-to-lan'
      : t.network === 'lan'
        ? 'lan-pay'
        : 'wan-pay';
    await counted(kind, () => t.wallet.send({ to, amount, memo: `soak ${kind}`, followMs: init.followMs }));
    await sleep(t.random.int(20, 200));
  }
}

/** Recovers every wallet until no operation is open (or 10 minutes pass): what is left is reported. */
async function settle(): Promise<number> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    let open = 0;
    for (const t of terminals) {
      try {
        open += (await t.wallet.recover()).open.length;
      } catch (e) {
        noteError('recover', e);
        open += 1;
      }
    }
    if (open === 0 || Date.now() > deadline) return open;
    await sleep(1000);
  }
}

/** Drains every inbox until a whole round takes nothing in and leaves nothing open. */
async function drainAll(): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    let moved = 0;
    for (const t of terminals) {
      try {
        const r = await t.wallet.receive();
        moved += r.received.length + r.refused.length + r.notices;
        moved += (await t.wallet.recover()).open.length;
      } catch (e) {
        noteError('final receive', e);
        moved += 1;
      }
    }
    if (moved === 0 || Date.now() > deadline) return;
    await sleep(500);
  }
}

async function finals(): Promise<WalletFinal[]> {
  const out: WalletFinal[] = [];
  for (const t of terminals) {
    const b = await t.wallet.balance();
    const open = (await t.wallet.history()).filter(
      (op) => op.state !== 'done' && op.state !== 'failed',
    ).length;
    out.push({
      address: t.wallet.address,
      network: t.network,
      available: b.available,
      pending: b.pending,
      open,
    });
  }
  return out;
}

// The runner is gone (done, or killed): nothing here outlives it.
process.on('disconnect', () => process.exit(0));

process.on('message', (m: ToWorker) => {
  const guard = (p: Promise<void>) =>
    p.catch((e: unknown) =>
      send({ type: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
    );
  switch (m.type) {
    case 'init':
      void guard(setUp(m));
      return;
    case 'go':
      loops = terminals.map((t) => drive(t, m.addresses));
      return;
    case 'stop':
      stopping = true;
      void guard(
        (async () => {
          await Promise.all(loops);
          send({ type: 'settled', open: await settle() });
        })(),
      );
      return;
    case 'final':
      void guard(
        (async () => {
          await drainAll();
          send({ type: 'report', ops, wallets: await finals(), lastErrors });
          for (const t of terminals) {
            t.wallet.close();
            t.store.close();
          }
          terminals = [];
          process.disconnect?.();
        })(),
      );
      return;
  }
});
