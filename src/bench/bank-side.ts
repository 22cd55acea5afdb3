/**
 * The wide bank `bench gateway` converts against, in one of two layouts: in the bench process beside
 * the gateway (one event loop for both, so `node --cpu-prof` profiles them together), or forked as its
 * own process (`bank-process.ts`), as deployed: another organisation's server across the WAN, with
 * its own event loop, crypto workers and database. Either way the bench sees the same few calls:
 * where the bank listens, what it published, funding the prepared traffic, filling its books.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Curve } from '../core/crypto/curve.js';
import { listen } from '../core/http/server.js';
import type { Amount } from '../core/money.js';
import type { BankInfo } from '../core/protocol/bank.js';
import type { MintCrypto } from '../mint/crypto.js';
import type { Ledger } from '../wide-bank/ledger/service.js';
import { createWideBank } from '../wide-bank/server.js';
import { fillBankBooks } from './books.js';
import type { StatementProbe, StatementTotals } from './pg-stats.js';
import { type Activity, openBenchStore } from './stores.js';

/** What the traffic needs paid in before it is prepared (`fundTraffic`). */
export interface Funding {
  /** X25519 public key, hex, of the holder whose account pays job 2's wide notes. */
  holder: string;
  holderAmount: Amount;
  /** The gateway's reserve account (its public key, hex), paid job 1's value (the operator's payroll). */
  gateway: string;
  payrollAmount: Amount;
  /** Makes the deposits' idempotency keys unique to this preparation. */
  tag: string;
}

export interface BankSide {
  url: string;
  info: BankInfo;
  /** The bank mint's active keyset. */
  keysetId: string;
  /** The bank's database (`openBenchStore`'s description). */
  description: string;
  /** The bank's own process, when it has one: its CPU is counted apart from the bench process's. */
  pid?: number;
  /** The bank database's statement counters (`--pg-stats` on PostgreSQL). */
  statements?: StatementProbe;
  /** PostgreSQL: where the bank database's processes can be watched from. */
  activity?: Activity;
  fund(f: Funding): Promise<void>;
  fillBooks(rows: number, now: number): Promise<void>;
  close(): Promise<void>;
}

/** Opens the holder's account and makes both deposits: the same in either layout. */
export async function fundTraffic(ledger: Ledger, f: Funding): Promise<void> {
  const { id } = await ledger.openAccount(f.holder);
  await ledger.deposit(id, f.holderAmount, `bench-holder-${f.tag}`);
  await ledger.deposit(f.gateway, f.payrollAmount, `bench-payroll-${f.tag}`);
}

/**
 * A wide bank on its own bench store of `dialect`, listening on loopback; `crypto` its worker pool;
 * `pgStats`: its statements counted (`openBenchStore`).
 */
export async function openBank(
  dialect: string,
  crypto: MintCrypto,
  o: { curve?: Curve; pgStats?: boolean } = {},
): Promise<BankSide> {
  const db = await openBenchStore(dialect, { pgStats: o.pgStats });
  try {
    const bank = await createWideBank({
      store: db.store,
      currency: 'EUR',
      crypto,
      lightning: 'none', // reserves are funded through accounts
      ...(o.curve ? { curve: o.curve } : {}),
      logger: false,
      rateLimit: false,
      // The gateway's address, named as docs/security.md tells a bank's operator to (its payments are
      // then the mailbox's trusted deposits). Only the gateway deposits here: terminals drain.
      mailboxTrusted: ['127.0.0.1'],
    });
    const url = await listen(bank.app, '127.0.0.1:0');
    return {
      url,
      info: bank.info,
      keysetId: bank.mint.keysets.current().id,
      description: db.description,
      ...(db.statements ? { statements: db.statements } : {}),
      ...(db.activity ? { activity: db.activity } : {}),
      fund: (f) => fundTraffic(bank.ledger, f),
      fillBooks: (rows, now) => fillBankBooks(db.store, rows, bank.mint.keysets.current().id, now),
      close: async () => {
        await bank.app.close();
        await bank.close();
        await db.close();
      },
    };
  } catch (e) {
    await db.close();
    throw e;
  }
}

/** Parent → bank process. */
export type BankRequest =
  | { kind: 'open'; dialect: string; pgStats?: boolean }
  | { kind: 'fund'; seq: number; funding: Funding }
  | { kind: 'fill'; seq: number; rows: number; now: number }
  | { kind: 'stats'; seq: number; op: 'reset' | 'read' }
  | { kind: 'close' };

/** Bank process → parent. */
export type BankAnswer =
  | {
      kind: 'ready';
      url: string;
      info: BankInfo;
      keysetId: string;
      description: string;
      statements: boolean;
      activity?: Activity;
    }
  | { kind: 'done'; seq: number; totals?: StatementTotals[] }
  | { kind: 'error'; seq?: number; message: string };

type Ask =
  | { kind: 'fund'; funding: Funding }
  | { kind: 'fill'; rows: number; now: number }
  | { kind: 'stats'; op: 'reset' | 'read' };

/** The wide bank forked as its own process (`bank-process.ts`) on its own store of `dialect`. */
export async function forkBank(dialect: string, o: { pgStats?: boolean } = {}): Promise<BankSide> {
  const child = forkModule('bank-process');
  const pending = new Map<
    number,
    { resolve: (totals: StatementTotals[] | undefined) => void; reject: (e: Error) => void }
  >();
  let seq = 0;
  let failed: ((e: Error) => void) | undefined;
  const ready = new Promise<Extract<BankAnswer, { kind: 'ready' }>>((resolve, reject) => {
    failed = reject;
    child.on('message', (m: BankAnswer) => {
      if (m.kind === 'ready') resolve(m);
      else if (m.seq !== undefined) {
        const p = pending.get(m.seq);
        pending.delete(m.seq);
        if (m.kind === 'done') p?.resolve(m.totals);
        else p?.reject(new Error(`bench bank: ${m.message}`));
      } else reject(new Error(`bench bank: ${m.kind === 'error' ? m.message : 'unexpected answer'}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code) => {
    const e = new Error(`bench bank process exited (${code})`);
    failed?.(e);
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  });
  const ask = (m: Ask) =>
    new Promise<StatementTotals[] | undefined>((resolve, reject) => {
      const n = ++seq;
      pending.set(n, { resolve, reject });
      child.send({ ...m, seq: n } satisfies BankRequest);
    });
  child.send({ kind: 'open', dialect, ...(o.pgStats ? { pgStats: true } : {}) } satisfies BankRequest);
  try {
    const r = await ready;
    return {
      url: r.url,
      info: r.info,
      keysetId: r.keysetId,
      description: r.description,
      ...(r.activity ? { activity: r.activity } : {}),
      ...(child.pid !== undefined ? { pid: child.pid } : {}),
      ...(r.statements
        ? {
            statements: {
              reset: async () => void (await ask({ kind: 'stats', op: 'reset' })),
              read: async () => (await ask({ kind: 'stats', op: 'read' })) ?? [],
            },
          }
        : {}),
      fund: async (funding) => void (await ask({ kind: 'fund', funding })),
      fillBooks: async (rows, now) => void (await ask({ kind: 'fill', rows, now })),
      close: async () => {
        if (child.exitCode === null && child.connected) child.send({ kind: 'close' } satisfies BankRequest);
        await exited;
      },
    };
  } catch (e) {
    child.kill();
    throw e;
  }
}

/** A bench module as a child process: from dist/ plain JS; under the test runner TypeScript through tsx's loader. */
export function forkModule(name: string): ChildProcess {
  const ts = import.meta.url.endsWith('.ts');
  const path = fileURLToPath(new URL(`./${name}.${ts ? 'ts' : 'js'}`, import.meta.url));
  // Its own flags: a `--cpu-prof` of the bench process is not passed on.
  return fork(path, [], {
    execArgv: ts ? ['--import', 'tsx'] : ['--enable-source-maps'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}
