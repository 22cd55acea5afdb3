/**
 * Issue 8 item 7, "secrets are world-readable": the data directories held the mint seeds, the
 * gateway's key (its reserve account's key) and the bank's keys in files anyone on the machine could
 * read. Against real processes: the servers make their directories 0700 and every file in them 0600
 * (the SQLite file, its `-wal` and `-shm`, `operator.token`); they refuse a data directory others can
 * read, naming the `chmod` to run; with an operator key (`LANCASH_SECRETS_KEY` or
 * `--secrets-key-file`) the seeds and keys are sealed (AES-256-GCM) in the database, existing
 * plaintext rows on the first start with a key, so the raw files hold none of them; a restart with the
 * same key serves the same keysets and keys, with a wrong key or none it refuses, saying why.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getGatewayInfo } from '../core/protocol/gateway.js';
import { auditGateway } from '../gateway/audit.js';
import { getSetting } from '../mint/repository.js';
import { DIALECTS, freshDatabaseUrl } from '../test-support/dialects.js';
import { killAll, runLancash, type Started, startProcess, wideBankArgs } from '../test-support/process.js';
import { auditWideBank } from '../wide-bank/audit.js';
import { openStore, parseStoreUrl } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'lancash-secrets-'));
afterEach(() => killAll());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = 'correct horse battery staple, 32+ characters of operator key material';
const WRONG = 'another operator key, also long enough to be accepted as key material';

const gatewayArgs = (data: string, bank: string) => [
  'gateway',
  ...['--lan', '127.0.0.1:0', '--wan', '127.0.0.1:0', '--wide-bank', bank, '--data', data],
];
const startBank = (data: string, env: Record<string, string> = {}) =>
  startProcess(wideBankArgs(data), { env });
const startGateway = (data: string, bank: string, extra: string[] = [], env: Record<string, string> = {}) =>
  startProcess([...gatewayArgs(data, bank), ...extra], { listeners: 2, env });

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** The rows of `settings`, read straight from the SQLite file (no lancash code in between). */
function settings(file: string): Map<string, string> {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const rows = db.prepare('select key, value from settings').all() as { key: string; value: string }[];
    return new Map(rows.map((r) => [r.key, r.value]));
  } finally {
    db.close();
  }
}

async function keysetIds(url: string): Promise<string[]> {
  const body = (await (await request(`${url}/v1/keysets`)).body.json()) as { keysets: { id: string }[] };
  return body.keysets.map((k) => k.id).sort();
}

async function expectBalanced(bankDb: string, gwDb: string): Promise<void> {
  // The audit reads no secret: it needs no key, even on sealed databases.
  const bank = await openStore({ dialect: 'sqlite', file: bankDb });
  const gw = await openStore({ dialect: 'sqlite', file: gwDb });
  try {
    expect((await auditWideBank(bank)).differences).toEqual([]);
    expect((await auditGateway({ gatewayStore: gw, wideBankStore: bank })).differences).toEqual([]);
  } finally {
    await gw.close();
    await bank.close();
  }
}

describe('data directories are private', () => {
  it('are created 0700 with every file in them 0600 (db, -wal, -shm, operator.token)', async () => {
    const bankData = join(dir, 'b-bank');
    const gwData = join(dir, 'b-gw');
    const bank = await startBank(bankData);
    await startGateway(gwData, bank.url);
    for (const [data, files] of [
      [bankData, ['wide-bank.db', 'wide-bank.db-wal', 'wide-bank.db-shm']],
      [gwData, ['gateway.db', 'gateway.db-wal', 'gateway.db-shm', 'operator.token']],
    ] as const) {
      expect(mode(data)).toBe('700');
      expect(readdirSync(data).sort()).toEqual(expect.arrayContaining([...files]));
      for (const f of readdirSync(data)) expect([f, mode(join(data, f))]).toEqual([f, '600']);
    }
  });

  it('a data directory others can read is refused, naming the chmod to run', async () => {
    const bank = await startBank(join(dir, 'b2-bank'));
    for (const [name, args] of [
      ['wide-bank', (data: string) => wideBankArgs(data)],
      ['gateway', (data: string) => gatewayArgs(data, bank.url)],
    ] as const) {
      const data = join(dir, `exposed-${name}`);
      mkdirSync(data);
      chmodSync(data, 0o755); // as someone else (or an older lancash) left it
      const run = await runLancash(args(data), { timeoutMs: 30_000 });
      expect(run.stdout).not.toMatch(/listening on/);
      expect(run.code).toBe(1);
      const { error } = JSON.parse(run.stderr.trim().split('\n').pop()!) as {
        error: { code: number; detail: string };
      };
      expect(error.code).toBe(79004);
      expect(error.detail).toContain(`chmod -R go-rwx '${data}'`);
      expect(mode(data)).toBe('755'); // refused, not changed behind the operator's back
    }
  });
});

describe('secrets at rest are sealed with the operator key', () => {
  it('seals existing plaintext, restarts with the same key, refuses a wrong key or none', async () => {
    const bankData = join(dir, 'c-bank');
    const gwData = join(dir, 'c-gw');
    const bankDb = join(bankData, 'wide-bank.db');
    const gwDb = join(gwData, 'gateway.db');
    const keyFile = join(dir, 'secrets.key');
    writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });

    // 1. Without a key, as every deployment ran so far: the secrets are plaintext hex.
    let bank: Started = await startBank(bankData);
    let gateway: Started = await startGateway(gwData, bank.url);
    const before = {
      bankKeysets: await keysetIds(bank.url),
      gwKeysets: await keysetIds(gateway.urls[0]!),
      gatewayKey: (await getGatewayInfo(gateway.urls[0]!)).encryptionKey,
      bankInfo: await (await request(`${bank.url}/v1/bank/info`)).body.json(),
    };
    await gateway.kill();
    await bank.kill();
    const secretKeys = {
      bank: ['mint.seed', 'wide-bank.encryption-key', 'wide-bank.receipt-key'],
      gateway: ['mint.seed', 'gateway.encryption-key'],
    };
    const plaintext = [
      ...secretKeys.bank.map((k) => settings(bankDb).get(k)!),
      ...secretKeys.gateway.map((k) => settings(gwDb).get(k)!),
    ];
    for (const p of plaintext) expect(p).toMatch(/^[0-9a-f]{64}$/);

    // 2. The first start with a key (environment for the bank, a file for the gateway) seals them.
    bank = await startBank(bankData, { LANCASH_SECRETS_KEY: KEY });
    gateway = await startGateway(gwData, bank.url, ['--secrets-key-file', keyFile]);
    expect(await keysetIds(bank.url)).toEqual(before.bankKeysets);
    expect(await keysetIds(gateway.urls[0]!)).toEqual(before.gwKeysets);
    expect((await getGatewayInfo(gateway.urls[0]!)).encryptionKey).toBe(before.gatewayKey);
    expect(await (await request(`${bank.url}/v1/bank/info`)).body.json()).toEqual(before.bankInfo);
    for (const s of [bank, gateway]) expect(s.stderr()).not.toContain(KEY.slice(0, 20)); // never logged
    await gateway.kill();
    await bank.kill();

    for (const k of secretKeys.bank) expect(settings(bankDb).get(k)).toMatch(/^enc:v1:/);
    for (const k of secretKeys.gateway) expect(settings(gwDb).get(k)).toMatch(/^enc:v1:/);
    // No byte of any file in either directory holds a secret, as hex or as raw bytes.
    for (const data of [bankData, gwData]) {
      for (const f of readdirSync(data)) {
        const bytes = readFileSync(join(data, f));
        for (const p of plaintext) {
          expect(bytes.includes(Buffer.from(p, 'latin1')), `${f} holds a secret in hex`).toBe(false);
          expect(bytes.includes(Buffer.from(p, 'hex')), `${f} holds a secret's bytes`).toBe(false);
        }
      }
    }

    // 3. A wrong key, or none: refused with a clear message, before listening.
    const wrong = await runLancash(wideBankArgs(bankData), {
      env: { LANCASH_SECRETS_KEY: WRONG },
      timeoutMs: 30_000,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/"code":79003/);
    expect(wrong.stderr).toMatch(/does not open the secrets/);
    expect(wrong.stderr).not.toContain(WRONG.slice(0, 20));
    const none = await runLancash(wideBankArgs(bankData), { timeoutMs: 30_000 });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/"code":79002/);
    expect(none.stderr).toMatch(/LANCASH_SECRETS_KEY or --secrets-key-file/);

    // 4. The same key again: same keysets, same gateway key; the gateway refuses a wrong key too.
    bank = await startBank(bankData, { LANCASH_SECRETS_KEY: KEY });
    const wrongGw = await runLancash(gatewayArgs(gwData, bank.url), {
      env: { LANCASH_SECRETS_KEY: WRONG },
      timeoutMs: 30_000,
    });
    expect(wrongGw.code).toBe(1);
    expect(wrongGw.stderr).toMatch(/"code":79003/);
    const noneGw = await runLancash(gatewayArgs(gwData, bank.url), { timeoutMs: 30_000 });
    expect(noneGw.code).toBe(1);
    expect(noneGw.stderr).toMatch(/"code":79002/);
    gateway = await startGateway(gwData, bank.url, [], { LANCASH_SECRETS_KEY: KEY });
    expect(await keysetIds(bank.url)).toEqual(before.bankKeysets);
    expect(await keysetIds(gateway.urls[0]!)).toEqual(before.gwKeysets);
    expect((await getGatewayInfo(gateway.urls[0]!)).encryptionKey).toBe(before.gatewayKey);
    await gateway.kill();
    await bank.kill();
    await expectBalanced(bankDb, gwDb);
    // Eleven process starts in a row: 32 s in a loaded CI run, over 60 s at load 9–12.
  }, 180_000);

  it('a fresh database started with a key never holds a secret in plaintext', async () => {
    const data = join(dir, 'c-fresh');
    const bank = await startBank(data, { LANCASH_SECRETS_KEY: KEY });
    await bank.kill();
    const rows = settings(join(data, 'wide-bank.db'));
    for (const k of ['mint.seed', 'wide-bank.encryption-key', 'wide-bank.receipt-key'])
      expect(rows.get(k)).toMatch(/^enc:v1:[A-Za-z0-9_-]+$/);
  });

  it('refuses key material that is too short, or a key file others can read (usage errors)', async () => {
    const data = join(dir, 'c-short');
    const short = await runLancash(wideBankArgs(data), {
      env: { LANCASH_SECRETS_KEY: 'short' },
      timeoutMs: 30_000,
    });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/LANCASH_SECRETS_KEY: .*at least 32/);
    const open = join(dir, 'open.key');
    writeFileSync(open, KEY, { mode: 0o644 });
    chmodSync(open, 0o644);
    const exposed = await runLancash([...wideBankArgs(data), '--secrets-key-file', open], {
      timeoutMs: 30_000,
    });
    expect(exposed.code).toBe(2);
    expect(exposed.stderr).toContain(`chmod 600 '${open}'`);
  });
});

describe.runIf(DIALECTS.includes('postgres'))('secrets at rest on PostgreSQL', () => {
  it('seals the seed and keys with the key, refuses a wrong key or none', async () => {
    const url = await freshDatabaseUrl('postgres');
    const args = ['wide-bank', '--lightning', 'none', '--listen', '127.0.0.1:0', '--db', url];
    const bank = await startProcess(args, { env: { LANCASH_SECRETS_KEY: KEY } });
    const keysets = await keysetIds(bank.url);
    await bank.kill();
    const store = await openStore(parseStoreUrl(url));
    try {
      for (const k of ['mint.seed', 'wide-bank.encryption-key', 'wide-bank.receipt-key'])
        expect(await getSetting(store.db, k)).toMatch(/^enc:v1:/);
    } finally {
      await store.close();
    }
    const wrong = await runLancash(args, { env: { LANCASH_SECRETS_KEY: WRONG }, timeoutMs: 30_000 });
    expect([wrong.code, wrong.stderr]).toEqual([1, expect.stringMatching(/"code":79003/)]);
    const none = await runLancash(args, { timeoutMs: 30_000 });
    expect([none.code, none.stderr]).toEqual([1, expect.stringMatching(/"code":79002/)]);
    const again = await startProcess(args, { env: { LANCASH_SECRETS_KEY: KEY } });
    expect(await keysetIds(again.url)).toEqual(keysets);
  });
});
