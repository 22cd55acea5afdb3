/**
 * The browser wallet's `WalletStore` on IndexedDB (`idb`): one database per wallet (by default one per
 * origin, `lancash-wallet`), five object stores (meta, notes, operations, seen, counters) of rows
 * `{ k, rev, … }`. Every `commit` is ONE readwrite transaction (durability "strict"), so it is all or
 * nothing, as the memory and SQLite stores are.
 *
 * An IndexedDB transaction ends as soon as it waits on anything but its own requests, and WebCrypto is
 * asynchronous, so a change is prepared first (rows read, checked, encrypted) and then written in one
 * transaction that first re-reads the rows the change depends on: if any `rev` moved (another tab, or
 * another operation of this one, wrote in between) the transaction is aborted and the change is
 * prepared again. So a reservation holds against every other writer, as SQLite's BEGIN IMMEDIATE does.
 *
 * With a passphrase (`setPassphrase`), every row is sealed: AES-256-GCM under a key derived by
 * PBKDF2-SHA256 (600 000 iterations, OWASP 2023) and HKDF, the row's key replaced by an HMAC of it, so
 * nothing but the number and size of rows is readable until the wallet is unlocked.
 */
import { type DBSchema, deleteDB, type IDBPDatabase, type IDBPTransaction, openDB } from 'idb';
import { bytesToHex } from '../../core/bytes.js';
import { fail, isLancashError, LancashError } from '../../core/errors.js';
import { notesBusy } from '../../wallet/memory-store.js';
import type {
  NoteQuery,
  Operation,
  StoredNote,
  WalletChange,
  WalletConfig,
  WalletStore,
} from '../../wallet/store.js';
import { TERMINAL_STATES } from '../../wallet/store.js';

/** The database of the default wallet; a named one is `lancash-wallet:<name>`. */
export const DEFAULT_WALLET_DB = 'lancash-wallet';
/** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256. */
export const PBKDF2_ITERATIONS = 600_000;
/** Prepared changes that met a concurrent writer this many times in a row give up with `WalletBusy`. */
const MAX_ATTEMPTS = 16;

type Table = 'meta' | 'notes' | 'operations' | 'seen' | 'counters';
const TABLES: readonly Table[] = ['meta', 'notes', 'operations', 'seen', 'counters'];

/**
 * A stored row. `k`: the row's key (a note's secret, an operation's id, …), or its HMAC when sealed;
 * `rev`: fresh random at every write, what a prepared change checks; `v`: the value when plain;
 * `iv` and `ct`: the sealed `{ key, value }` when encrypted.
 */
interface Row {
  k: string;
  rev: string;
  v?: unknown;
  iv?: Uint8Array<ArrayBuffer>;
  ct?: Uint8Array<ArrayBuffer>;
}

/** The KDF's parameters, kept in the `meta` row `crypto` beside a sealed check value. */
interface KdfParams {
  kdf: 'PBKDF2-SHA256';
  salt: Uint8Array<ArrayBuffer>;
  iterations: number;
}

interface WalletDb extends DBSchema {
  meta: { key: string; value: Row };
  notes: { key: string; value: Row };
  operations: { key: string; value: Row };
  seen: { key: string; value: Row };
  counters: { key: string; value: Row };
}

/** The database name of wallet `name` (default: the one wallet of this origin). */
export function walletDbName(name?: string): string {
  return name === undefined ? DEFAULT_WALLET_DB : `${DEFAULT_WALLET_DB}:${name}`;
}

/** Whether this page can encrypt: WebCrypto's `subtle` exists only in a secure context (https, localhost). */
export function encryptionAvailable(): boolean {
  return typeof globalThis.crypto?.subtle?.deriveBits === 'function';
}

export interface StoreHooks {
  /** After a change is prepared, before its write transaction: lets a test write in between. */
  prepared?(): Promise<void>;
  /** Before each row a write transaction puts; throwing aborts the transaction (a tab closed mid-way). */
  write?(table: string): void;
}

export interface IdbStoreOptions {
  /** A named wallet of this browser profile; default the origin's one wallet. */
  name?: string;
  /** Needed when the wallet is encrypted; ignored when it is not. */
  passphrase?: string;
  /** For tests only. */
  hooks?: StoreHooks;
}

export interface SetPassphraseOptions {
  /** PBKDF2 iterations; default `PBKDF2_ITERATIONS` (tests pass fewer). */
  iterations?: number;
}

/** A change prepared outside the transaction, written only if the rows it read are unchanged. */
interface Plan<T> {
  /** Rows the change depends on and the `rev` each had (undefined: absent). */
  expect: { table: Table; k: string; rev: string | undefined }[];
  /** Whole tables the change depends on (a re-encryption): every row and its `rev`, exactly. */
  snapshot?: Map<Table, Map<string, string>>;
  /** Tables emptied before the puts. */
  clear?: Table[];
  put: { table: Table; row: Row }[];
  /** The key material the store uses after this change (a passphrase set, changed or removed). */
  codec?: Codec;
  result: T;
}

export class IdbWalletStore implements WalletStore {
  private constructor(
    private readonly db: IDBPDatabase<WalletDb>,
    private codec: Codec,
    private readonly hooks: StoreHooks,
  ) {}

  /** The tail of this store's writes (see `write`). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Reads under way, and a passphrase change under way (see `read`). */
  private readonly reads = new Set<Promise<unknown>>();
  private rekeying: Promise<void> = Promise.resolve();

  /**
   * Opens (and creates) the wallet's database. An encrypted one needs `passphrase`: `WalletLocked`
   * without it, `PassphraseWrong` when it does not open the wallet.
   */
  static async open(o: IdbStoreOptions = {}): Promise<IdbWalletStore> {
    const db = await openWalletDb(walletDbName(o.name));
    try {
      const crypto = await db.get('meta', 'crypto');
      const codec = crypto === undefined ? plainCodec : await unlock(crypto, o.passphrase);
      return new IdbWalletStore(db, codec, o.hooks ?? {});
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** Whether a wallet is kept here and whether it is encrypted, without unlocking it. */
  static async inspect(name?: string): Promise<{ exists: boolean; encrypted: boolean }> {
    const db = await openWalletDb(walletDbName(name));
    try {
      const [config, crypto] = await Promise.all([db.getKey('meta', 'config'), db.getKey('meta', 'crypto')]);
      return { exists: config !== undefined, encrypted: crypto !== undefined };
    } finally {
      db.close();
    }
  }

  /** Deletes the wallet's database: every note and the seed are gone. Close open stores first. */
  static async erase(name?: string): Promise<void> {
    await deleteDB(walletDbName(name));
  }

  get encrypted(): boolean {
    return this.codec.epoch !== undefined;
  }

  async readConfig(): Promise<WalletConfig | undefined> {
    return (await this.one('meta', 'config')) as WalletConfig | undefined;
  }

  async writeConfig(config: WalletConfig): Promise<void> {
    await this.write(async (c) => {
      const row = await this.db.get('meta', 'config');
      if (row) fail('WalletExists', { reason: 'configured' }, 'a wallet already exists in this browser');
      return {
        expect: [{ table: 'meta', k: 'config', rev: undefined }],
        put: [{ table: 'meta', row: await c.seal('meta', 'config', config) }],
        result: undefined,
      };
    });
  }

  /**
   * Keeps the seed words beside the config (which holds only the seed they make), sealed like every
   * row, so the page can show them again after a confirmation (Settings).
   */
  async writeWords(words: string): Promise<void> {
    await this.write(async (c) => {
      const row = await this.db.get('meta', 'words');
      return {
        expect: [{ table: 'meta', k: 'words', rev: row?.rev }],
        put: [{ table: 'meta', row: await c.seal('meta', 'words', words) }],
        result: undefined,
      };
    });
  }

  /** The seed words kept by `writeWords`, if any (a guarded read: it waits for a passphrase change). */
  async readWords(): Promise<string | undefined> {
    return (await this.one('meta', 'words')) as string | undefined;
  }

  async notes(q: NoteQuery = {}): Promise<StoredNote[]> {
    const notes = (await this.all('notes')) as StoredNote[];
    return notes
      .filter(
        (n) =>
          (q.state === undefined || n.state === q.state) &&
          (q.operation === undefined || n.operation === q.operation),
      )
      .sort((a, b) => a.createdAt - b.createdAt || compare(a.proof.secret, b.proof.secret));
  }

  async operation(id: string): Promise<Operation | undefined> {
    return (await this.one('operations', id)) as Operation | undefined;
  }

  async operations(q: { open?: boolean } = {}): Promise<Operation[]> {
    const ops = (await this.all('operations')) as Operation[];
    return ops
      .filter((op) => !q.open || !TERMINAL_STATES.includes(op.state))
      .sort((a, b) => a.createdAt - b.createdAt || compare(a.id, b.id));
  }

  async hasSeen(key: string): Promise<boolean> {
    return this.read(async (c) => (await this.db.getKey('seen', await c.key('seen', key))) !== undefined);
  }

  async counter(keysetId: string): Promise<number> {
    return ((await this.one('counters', keysetId)) as number | undefined) ?? 0;
  }

  async reserveCounters(keysetId: string, n: number): Promise<number> {
    return this.write(async (c) => {
      const k = await c.key('counters', keysetId);
      const row = await this.db.get('counters', k);
      const first = row === undefined ? 0 : ((await c.open('counters', row)).value as number);
      return {
        expect: [{ table: 'counters', k, rev: row?.rev }],
        put: [{ table: 'counters', row: await c.seal('counters', keysetId, first + n) }],
        result: first,
      };
    });
  }

  async commit(change: WalletChange): Promise<void> {
    await this.write(async (c) => {
      const expect: Plan<void>['expect'] = [];
      const put: Plan<void>['put'] = [];
      // Check first (nothing is written when a note is not unspent), then apply as the memory store does:
      // the change's notes, then the reservation over them.
      const stored = new Map<string, StoredNote>();
      for (const secret of change.reserve?.secrets ?? []) {
        const k = await c.key('notes', secret);
        const row = await this.db.get('notes', k);
        expect.push({ table: 'notes', k, rev: row?.rev });
        const n = row && ((await c.open('notes', row)).value as StoredNote);
        if (n?.state !== 'unspent') notesBusy();
        stored.set(secret, n);
      }
      const notes = new Map<string, StoredNote>();
      for (const n of change.notes ?? []) notes.set(n.proof.secret, n);
      if (change.reserve) {
        const { operation, secrets } = change.reserve;
        for (const secret of secrets) {
          notes.set(secret, { ...(notes.get(secret) ?? stored.get(secret)!), state: 'pending', operation });
        }
      }
      for (const [secret, n] of notes) put.push({ table: 'notes', row: await c.seal('notes', secret, n) });
      if (change.operation) {
        const row = await c.seal('operations', change.operation.id, change.operation);
        put.push({ table: 'operations', row });
      }
      for (const key of change.seen ?? []) put.push({ table: 'seen', row: await c.seal('seen', key, true) });
      for (const [keyset, next] of Object.entries(change.counters ?? {})) {
        const k = await c.key('counters', keyset);
        const row = await this.db.get('counters', k);
        expect.push({ table: 'counters', k, rev: row?.rev });
        const current = row === undefined ? 0 : ((await c.open('counters', row)).value as number);
        if (next > current) put.push({ table: 'counters', row: await c.seal('counters', keyset, next) });
      }
      return { expect, put, result: undefined };
    });
  }

  /**
   * Sets, changes (a fresh salt) or removes (`undefined`) the passphrase: every row is re-encrypted
   * and written in one transaction, so the wallet is never half under one key and half under another.
   */
  async setPassphrase(passphrase: string | undefined, o: SetPassphraseOptions = {}): Promise<void> {
    let next: Codec = plainCodec;
    let cryptoRow: Row | undefined;
    if (passphrase !== undefined) {
      ({ codec: next, row: cryptoRow } = await newSealedCodec(passphrase, o.iterations ?? PBKDF2_ITERATIONS));
    }
    let finished = () => {};
    const before = this.rekeying;
    this.rekeying = new Promise<void>((resolve) => {
      finished = resolve;
    });
    try {
      await before;
      await Promise.allSettled([...this.reads]);
      await this.write(async (c) => {
        const snapshot = new Map<Table, Map<string, string>>();
        const put: Plan<void>['put'] = [];
        for (const table of TABLES) {
          const rows = await this.db.getAll(table);
          snapshot.set(table, new Map(rows.map((r) => [r.k, r.rev])));
          for (const row of rows) {
            if (table === 'meta' && row.k === 'crypto') continue;
            const { key, value } = await c.open(table, row);
            put.push({ table, row: await next.seal(table, key, value) });
          }
        }
        if (cryptoRow) put.push({ table: 'meta', row: cryptoRow });
        return { expect: [], snapshot, clear: [...TABLES], put, codec: next, result: undefined };
      });
    } finally {
      finished();
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /** The value under `key` in `table`, opened. */
  private one(table: Table, key: string): Promise<unknown> {
    return this.read(async (c) => {
      const row = await this.db.get(table, await c.key(table, key));
      return row && (await c.open(table, row)).value;
    });
  }

  /** Every value of `table`, opened. */
  private all(table: Table): Promise<unknown[]> {
    return this.read(async (c) => {
      const rows = await this.db.getAll(table);
      return Promise.all(rows.map(async (r) => (await c.open(table, r)).value));
    });
  }

  /**
   * A read with the current key material. A passphrase change waits for the reads under way and
   * holds new ones until it is written, so no read mixes the old key with the new rows.
   */
  private async read<T>(fn: (codec: Codec) => Promise<T>): Promise<T> {
    await this.rekeying;
    const p = fn(this.codec);
    this.reads.add(p);
    try {
      return await p;
    } finally {
      this.reads.delete(p);
    }
  }

  /**
   * Prepares a change with the current key material and writes it in one transaction (see the header).
   * This store's own changes run one after another, so they never make each other prepare again.
   */
  private write<T>(prepare: (codec: Codec) => Promise<Plan<T>>): Promise<T> {
    const run = this.queue.then(() => this.attempt(prepare));
    this.queue = run.catch(ignore);
    return run;
  }

  private async attempt<T>(prepare: (codec: Codec) => Promise<Plan<T>>): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const codec = this.codec;
      const plan = await prepare(codec);
      await this.hooks.prepared?.();
      const tables = new Set<Table>(['meta', ...(plan.clear ?? [])]);
      for (const e of plan.expect) tables.add(e.table);
      for (const p of plan.put) tables.add(p.table);
      const tx = this.db.transaction([...tables], 'readwrite', { durability: 'strict' });
      const done = tx.done.then(
        () => true,
        (e: unknown) => e,
      );
      let current: boolean;
      try {
        if ((await tx.objectStore('meta').get('crypto'))?.rev !== codec.epoch) {
          fail(
            'WalletLocked',
            { reason: 'passphrase changed' },
            'the passphrase of this wallet was changed elsewhere; open the wallet again',
          );
        }
        current = await unchanged(tx, plan);
        if (current) {
          for (const t of plan.clear ?? []) void tx.objectStore(t).clear().catch(ignore);
          for (const p of plan.put) {
            this.hooks.write?.(p.table);
            void tx.objectStore(p.table).put(p.row).catch(ignore);
          }
        } else {
          tx.abort();
        }
      } catch (e) {
        abort(tx);
        await done;
        throw e;
      }
      const outcome = await done;
      if (!current) continue;
      if (outcome !== true) {
        throw new LancashError(
          'StorageUnavailable',
          { reason: describeError(outcome) },
          `the browser did not save the change (${describeError(outcome)}); nothing was written, try again`,
          { cause: outcome },
        );
      }
      if (plan.codec) this.codec = plan.codec;
      return plan.result;
    }
    return fail(
      'WalletBusy',
      { reason: 'store contention' },
      'the wallet kept changing under this change (is it open in another tab?); try again',
    );
  }
}

type Tx = IDBPTransaction<WalletDb, Table[], 'readwrite'>;

/** Whether every row the plan read still has the `rev` it read. */
async function unchanged<T>(tx: Tx, plan: Plan<T>): Promise<boolean> {
  for (const e of plan.expect) {
    if ((await tx.objectStore(e.table).get(e.k))?.rev !== e.rev) return false;
  }
  for (const [table, revs] of plan.snapshot ?? []) {
    const rows = await tx.objectStore(table).getAll();
    if (rows.length !== revs.size || rows.some((r) => revs.get(r.k) !== r.rev)) return false;
  }
  return true;
}

function openWalletDb(name: string): Promise<IDBPDatabase<WalletDb>> {
  return openDB<WalletDb>(name, 1, {
    upgrade(db) {
      for (const t of TABLES) db.createObjectStore(t, { keyPath: 'k' });
    },
    // Another page erases (or upgrades) this wallet: let it, rather than block it forever.
    blocking(_current, _blocked, event) {
      (event.target as IDBDatabase).close();
    },
  });
}

// --- key material ---

/** How rows are keyed and stored: plain, or sealed under a passphrase. */
interface Codec {
  /** The `rev` of the `crypto` row this codec belongs to; undefined when plain. */
  readonly epoch: string | undefined;
  /** The row key of `key` in `table`. */
  key(table: Table, key: string): Promise<string>;
  seal(table: Table, key: string, value: unknown): Promise<Row>;
  open(table: Table, row: Row): Promise<{ key: string; value: unknown }>;
}

const plainCodec: Codec = {
  epoch: undefined,
  key: async (_table, key) => key,
  // Copied now, as the memory store does: the caller may change its object before the write.
  seal: async (_table, key, value) => ({ k: key, rev: randomHex(12), v: structuredClone(value) }),
  open: async (_table, row) => ({ key: row.k, value: row.v }),
};

const AES_INFO = 'lancash wallet rows AES-256-GCM v1';
const HMAC_INFO = 'lancash wallet row keys HMAC-SHA256 v1';
const CHECK = 'lancash wallet passphrase check v1';

class SealedCodec implements Codec {
  /**
   * Rows opened or sealed so far, by table and row key: their `rev` and text. A row whose `rev` is
   * unchanged is the same ciphertext, so reading the wallet again (every balance) decrypts nothing.
   */
  private readonly opened = new Map<string, { rev: string; text: string }>();
  private readonly keys = new Map<string, string>();

  constructor(
    readonly epoch: string,
    private readonly aes: CryptoKey,
    private readonly mac: CryptoKey,
  ) {}

  async key(table: Table, key: string): Promise<string> {
    // meta's keys (config, crypto) are names, not secrets: their presence says a wallet is here.
    if (table === 'meta') return key;
    const name = `${table}\u0000${key}`;
    let k = this.keys.get(name);
    if (k === undefined) {
      k = bytesToHex(new Uint8Array(await crypto.subtle.sign('HMAC', this.mac, bytes(name))));
      this.keys.set(name, k);
    }
    return k;
  }

  async seal(table: Table, key: string, value: unknown): Promise<Row> {
    const k = await this.key(table, key);
    const text = JSON.stringify({ key, value });
    const { iv, ct } = await encrypt(this.aes, `${table}\u0000${k}`, text);
    const rev = randomHex(12);
    this.opened.set(`${table}\u0000${k}`, { rev, text });
    return { k, rev, iv, ct };
  }

  async open(table: Table, row: Row): Promise<{ key: string; value: unknown }> {
    const id = `${table}\u0000${row.k}`;
    const known = this.opened.get(id);
    let text = known?.rev === row.rev ? known.text : undefined;
    text ??= row.iv && row.ct && (await decrypt(this.aes, id, row.iv, row.ct));
    if (text === undefined) {
      return fail(
        'WalletLocked',
        { reason: 'row does not open' },
        'a record of this wallet does not open with this passphrase (changed in another tab?); open the wallet again',
      );
    }
    this.opened.set(id, { rev: row.rev, text });
    return JSON.parse(text) as { key: string; value: unknown };
  }
}

/** A fresh salt and the codec and `crypto` row for `passphrase`. */
async function newSealedCodec(passphrase: string, iterations: number): Promise<{ codec: Codec; row: Row }> {
  if (passphrase.length === 0) {
    fail(
      'InvalidInput',
      { argument: 'passphrase', expected: 'at least one character', received: 'an empty one' },
      'the passphrase is empty; type one, or leave the wallet unencrypted',
    );
  }
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    fail(
      'InvalidInput',
      { argument: 'iterations', expected: 'a positive integer', received: String(iterations) },
      'PBKDF2 iterations must be a positive integer',
    );
  }
  needCrypto();
  const params: KdfParams = { kdf: 'PBKDF2-SHA256', salt: randomBytes(16), iterations };
  const { aes, mac } = await deriveKeys(passphrase, params);
  const rev = randomHex(12);
  const { iv, ct } = await encrypt(aes, 'meta\u0000crypto', CHECK);
  return { codec: new SealedCodec(rev, aes, mac), row: { k: 'crypto', rev, v: params, iv, ct } };
}

/** The codec of an encrypted wallet, if `passphrase` opens its check value. */
async function unlock(row: Row, passphrase: string | undefined): Promise<Codec> {
  if (passphrase === undefined) {
    fail('WalletLocked', { reason: 'passphrase needed' }, 'this wallet is encrypted; enter its passphrase');
  }
  needCrypto();
  const { aes, mac } = await deriveKeys(passphrase, row.v as KdfParams);
  const check = row.iv && row.ct && (await decrypt(aes, 'meta\u0000crypto', row.iv, row.ct));
  if (check !== CHECK) {
    fail(
      'PassphraseWrong',
      { reason: 'check value does not open' },
      'that passphrase does not open this wallet; check it and try again',
    );
  }
  return new SealedCodec(row.rev, aes, mac);
}

function needCrypto(): void {
  if (!encryptionAvailable()) {
    fail(
      'WalletLocked',
      { reason: 'no WebCrypto' },
      'this page cannot encrypt or decrypt: open the wallet over https or on localhost',
    );
  }
}

/**
 * PBKDF2-SHA256 stretches the passphrase into 32 bytes (one PBKDF2 block: asking for more would cost
 * the defender double and an attacker nothing); HKDF splits them into the AES and HMAC keys.
 * The passphrase is NFKC-normalised, so the same words typed on another keyboard open the wallet.
 */
async function deriveKeys(passphrase: string, p: KdfParams): Promise<{ aes: CryptoKey; mac: CryptoKey }> {
  const subtle = crypto.subtle;
  const base = await subtle.importKey('raw', bytes(passphrase.normalize('NFKC')), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const bits = await subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: p.salt, iterations: p.iterations },
    base,
    256,
  );
  const master = await subtle.importKey('raw', bits, 'HKDF', false, ['deriveKey']);
  const hkdf = (info: string) => ({
    name: 'HKDF',
    hash: 'SHA-256',
    salt: new Uint8Array(0),
    info: bytes(info),
  });
  const aes = await subtle.deriveKey(hkdf(AES_INFO), master, { name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
  const mac = await subtle.deriveKey(
    hkdf(HMAC_INFO),
    master,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['sign'],
  );
  return { aes, mac };
}

/** AES-256-GCM with a fresh 96-bit nonce; the additional data binds the row to its table and key. */
async function encrypt(
  key: CryptoKey,
  ad: string,
  text: string,
): Promise<{ iv: Uint8Array<ArrayBuffer>; ct: Uint8Array<ArrayBuffer> }> {
  const iv = randomBytes(12);
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: bytes(ad) },
    key,
    bytes(text),
  );
  return { iv, ct: new Uint8Array(ct) };
}

/** The text, or undefined when the key, the additional data or the bytes are not the sealing ones. */
async function decrypt(
  key: CryptoKey,
  ad: string,
  iv: Uint8Array<ArrayBuffer>,
  ct: Uint8Array<ArrayBuffer>,
): Promise<string | undefined> {
  try {
    const text = await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: bytes(ad) }, key, ct);
    return new TextDecoder().decode(text);
  } catch {
    return undefined;
  }
}

// --- small helpers ---

const encoder = new TextEncoder();
const bytes = (s: string): Uint8Array<ArrayBuffer> => encoder.encode(s);

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}

function randomHex(n: number): string {
  return bytesToHex(randomBytes(n));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function ignore(): void {}

function abort(tx: Tx): void {
  try {
    tx.abort();
  } catch {
    // Already finished or aborted (a failed request aborts it by itself).
  }
}

function describeError(e: unknown): string {
  if (isLancashError(e)) return e.message;
  if (e instanceof Error) return e.name === 'Error' ? e.message : `${e.name}: ${e.message}`;
  return String(e);
}
