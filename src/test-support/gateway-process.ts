/**
 * Test helpers for the gateway's real-process tests (used by tests only): `lancash wide-bank` and
 * `lancash gateway` on loopback, optionally with a fault proxy between the two (the gateway's
 * `--wide-bank` is then the proxy); both databases opened beside the processes for the checks;
 * terminals funded in bulk (wide notes from a funded holder account in a few issue requests, local
 * notes through one job 2 and one split swap at the local mint); bulk calls kept polite (a bounded
 * number at once, 429s waited out); and the check every test ends with (invariants 1 and 2).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { bytesToHex, utf8 } from '../core/bytes.js';
import { defaultCurve, hashToCurve } from '../core/crypto/index.js';
import { type Envelope, generateEncryptionKeyPair } from '../core/envelope/index.js';
import { fail, isLancashError } from '../core/errors.js';
import { freePort } from '../core/free-port.js';
import { call, isUnclear } from '../core/http/client.js';
import { sum } from '../core/money.js';
import { requestIssue } from '../core/protocol/bank.js';
import { type BlindedMessage, BlindSignature, Keys, type Proof } from '../core/protocol/cashu.js';
import { type Direction, getGatewayInfo, type TransferStatus } from '../core/protocol/gateway.js';
import { auditGateway, type GatewayAuditDifference } from '../gateway/audit.js';
import { type DialectName, openStore, parseStoreUrl, type Store, type StoreConfig } from '../store/index.js';
import { type AuditDifference, auditWideBank } from '../wide-bank/audit.js';
import { Ledger } from '../wide-bank/ledger/service.js';
import { freshDatabaseUrl } from './dialects.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import { gatewayArgs, type Started, startProcess } from './process.js';
import { randomId, type Terminal, waitForTransfer } from './terminal.js';
import { remoteBank } from './wide-bank.js';

export interface ProcessNetOptions {
  /** Default `sqlite` (a `--data` directory); `postgres` gives each process a fresh database (`--db`). */
  dialect?: DialectName;
  /** Put a fault proxy between the gateway and the wide bank. */
  proxy?: boolean;
  /** The gateway's `--call-timeout-ms`. */
  callTimeoutMs?: number;
  /** The gateway's `--retry-cap-ms`. */
  retryCapMs?: number;
  /** The gateway's `--concurrency`. */
  concurrency?: number;
  /** Extra environment of both processes (e.g. `LANCASH_LOG_LEVEL`). */
  env?: Record<string, string>;
  /** More `lancash gateway` arguments (e.g. `--inbox-allow URL`). */
  gatewayArgs?: string[];
  /**
   * The bank's web wallet offers the gateway for payments to LAN addresses (`--web-gateway`): the
   * gateway's WAN listener gets a port picked beforehand, so the bank can start knowing it.
   */
  webGateway?: boolean;
}

export interface ProcessNet {
  /** The wide bank as terminals reach it. */
  bankUrl: string;
  /** The wide bank as the gateway reaches it (the proxy, or `bankUrl`): the mint job 1's payments name. */
  gatewayBankUrl: string;
  proxy: FaultProxy | undefined;
  bank: Started;
  gateway: Started;
  /** The gateway's database as its command line names it (`--data DIR` or `--db URL`): for a second process. */
  gatewayDbArgs: string[];
  /** The gateway's LAN and WAN listeners. */
  lan: string;
  wan: string;
  bankStore: Store;
  gwStore: Store;
  /** The bank's database as its command line names it (`--data DIR` or `--db URL`): operator commands. */
  bankDbArgs: string[];
  /** The bank's ledger on its database (the operator's side: deposits, withdrawals, balances). */
  ledger: Ledger;
  /** The gateway's key: its reserve account's holder key. */
  gatewayKey: string;
  /** Invariant 1 (`auditWideBank`) and invariant 2 (`auditGateway`): empty when both balance. */
  audit(): Promise<(AuditDifference | GatewayAuditDifference)[]>;
  close(): Promise<void>;
}

export async function startProcessNet(o: ProcessNetOptions = {}): Promise<ProcessNet> {
  const dialect = o.dialect ?? 'sqlite';
  const dir = mkdtempSync(join(tmpdir(), 'lancash-gwp-'));
  const database = async (name: string): Promise<{ args: string[]; config: StoreConfig }> => {
    if (dialect === 'sqlite') {
      // The CLIs name their SQLite files after themselves: DIR/wide-bank.db, DIR/gateway.db.
      return {
        args: ['--data', join(dir, name)],
        config: { dialect, file: join(dir, name, `${name}.db`) },
      };
    }
    const url = await freshDatabaseUrl(dialect);
    return { args: ['--db', url], config: parseStoreUrl(url) };
  };
  const bankDb = await database('wide-bank');
  const gwDb = await database('gateway');
  const env = o.env !== undefined ? { env: o.env } : {};
  const opened: { close(): Promise<unknown> }[] = [];
  const close = async () => {
    for (const x of opened.reverse()) await x.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const wanPort = o.webGateway ? await freePort() : 0;
    const web = o.webGateway ? ['--web-gateway', `http://127.0.0.1:${wanPort}`] : [];
    const bank = await startProcess(
      ['wide-bank', '--lightning', 'fake', '--listen', '127.0.0.1:0', ...bankDb.args, ...web],
      env,
    );
    opened.push({ close: () => bank.kill() });
    const proxy = o.proxy ? await startFaultProxy(bank.url) : undefined;
    if (proxy !== undefined) opened.push(proxy);
    const gatewayBankUrl = proxy?.url ?? bank.url;
    const tuning = [
      ...(o.callTimeoutMs !== undefined ? ['--call-timeout-ms', String(o.callTimeoutMs)] : []),
      ...(o.retryCapMs !== undefined ? ['--retry-cap-ms', String(o.retryCapMs)] : []),
      ...(o.concurrency !== undefined ? ['--concurrency', String(o.concurrency)] : []),
      ...(o.gatewayArgs ?? []),
      ...(o.webGateway ? ['--wan', `127.0.0.1:${wanPort}`] : []), // the last --wan given counts
    ];
    const gateway = await startProcess([...gatewayArgs(gatewayBankUrl), ...gwDb.args, ...tuning], {
      listeners: 2,
      ...env,
    });
    opened.push({ close: () => gateway.kill() });
    const [lan, wan] = gateway.urls as [string, string];
    const bankStore = await openStore(bankDb.config);
    opened.push(bankStore);
    const gwStore = await openStore(gwDb.config);
    opened.push(gwStore);
    const ledger = new Ledger(bankStore);
    const gatewayKey = (await getGatewayInfo(lan)).encryptionKey;
    return {
      bankUrl: bank.url,
      gatewayBankUrl,
      proxy,
      bank,
      gateway,
      gatewayDbArgs: gwDb.args,
      lan,
      wan,
      bankStore,
      gwStore,
      bankDbArgs: bankDb.args,
      ledger,
      gatewayKey,
      audit: async () => [
        ...(await auditWideBank(bankStore)).differences,
        ...(await auditGateway({ gatewayStore: gwStore, wideBankStore: bankStore })).differences,
      ],
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A terminal and the amount it should get. */
export interface Share {
  terminal: Terminal;
  amount: number;
}

/** Most outputs one request may carry (the mint's default `maxOutputs`). */
const MAX_OUTPUTS = 1000;

/**
 * Wide notes for each share, from a holder account the operator funds with the total: as few issue
 * requests as the output limit allows, sent straight to the bank (not through any proxy). The notes
 * keep their DLEQ proofs, as job 2 wants them.
 */
export async function fundWide(net: ProcessNet, shares: readonly Share[]): Promise<void> {
  const holder = await generateEncryptionKeyPair();
  const { id } = await net.ledger.openAccount(holder.publicKey);
  await net.ledger.deposit(id, sum(shares.map((s) => s.amount)), randomId());
  const bank = await remoteBank(net.bankUrl);
  await distribute(net.bankUrl, bank.keysetId, shares, async (outputs, amount) => {
    const { signatures } = await requestIssue({
      bank: bank.peer,
      holder,
      transferId: randomId(),
      amount,
      outputs,
    });
    return signatures;
  });
}

const KeysetsResponse = Type.Object({
  keysets: Type.Array(Type.Object({ id: Type.String(), active: Type.Boolean(), keys: Keys })),
});
const SwapResponse = Type.Object({ signatures: Type.Array(BlindSignature) });

/**
 * Local notes for each share, as the gateway makes them: per chunk of outputs, `funder` (a WAN
 * terminal) gets wide notes of the chunk's total and converts them in one job 2 to `treasury` (a LAN
 * terminal), whose local notes are swapped at the local mint into the shares' outputs. The reserve
 * grows by what is funded, so the local money is covered.
 */
export async function fundLocal(
  net: ProcessNet,
  funder: Terminal,
  treasury: Terminal,
  shares: readonly Share[],
): Promise<void> {
  const { keysets } = await call({ base: net.lan, method: 'GET', path: '/v1/keys', schema: KeysetsResponse });
  const active = keysets.find((k) => k.active);
  if (active === undefined) return fail('Internal', { reason: 'the local mint has no active keyset' });
  await distribute(net.lan, active.id, shares, async (outputs, amount) => {
    await fundWide(net, [{ terminal: funder, amount }]);
    const { status } = await funder.sendJob(net.wan, 'wan-to-lan', {
      proofs: funder.takeAll(net.bankUrl),
      destination: treasury.address,
    });
    const end = await waitForTransfer(net.wan, status.transferId);
    if (end.state !== 'done') fail('Internal', { reason: `funding job 2 ended ${end.state}` });
    await treasury.receive(net.lan);
    const { signatures } = await call({
      base: net.lan,
      method: 'POST',
      path: '/v1/swap',
      body: { inputs: treasury.takeAll(net.lan), outputs },
      schema: SwapResponse,
    });
    return signatures;
  });
}

/**
 * Makes each share's outputs on `keysetId`, has `sign` sign them in chunks of at most `MAX_OUTPUTS`,
 * and unblinds each share's slice into its terminal's purse at `mint`.
 */
async function distribute(
  mint: string,
  keysetId: string,
  shares: readonly Share[],
  sign: (outputs: BlindedMessage[], amount: number) => Promise<BlindSignature[]>,
): Promise<void> {
  let chunk: { share: Share; outputs: ReturnType<Terminal['outputs']> }[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    const all = chunk.flatMap((c) => c.outputs);
    const signatures = await sign(
      all.map(({ amount, id, B_ }) => ({ amount, id, B_ })),
      sum(all.map((p) => p.amount)),
    );
    let at = 0;
    for (const c of chunk) {
      const mine = signatures.slice(at, at + c.outputs.length);
      at += c.outputs.length;
      c.share.terminal.add(mint, await c.share.terminal.unblind(mint, c.outputs, mine));
    }
    chunk = [];
  };
  let count = 0;
  for (const share of shares) {
    const outputs = share.terminal.outputs(keysetId, share.amount);
    if (count + outputs.length > MAX_OUTPUTS) {
      await flush();
      count = 0;
    }
    chunk.push({ share, outputs });
    count += outputs.length;
  }
  await flush();
}

/**
 * Runs `fn` over `items`, at most `limit` at once, results in order. A call refused with 429
 * (`RateLimited`: refused before any work, so safe to repeat) is repeated after the wait it names;
 * every test request comes from 127.0.0.1, so bulk checks would otherwise trip the servers' limit.
 */
export async function eachPolitely<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await politely(() => fn(items[i]!));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** `fn()`, repeated while the server answers 429. */
export async function politely<R>(fn: () => Promise<R>): Promise<R> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isLancashError(e, 'RateLimited')) throw e;
      await new Promise((resolve) => setTimeout(resolve, 1000 * e.info.retryAfterSeconds));
    }
  }
}

/**
 * Posts a sealed job request until the gateway answers, as a terminal would: after an unclear outcome
 * (a timeout while the gateway is busy, a reset, a 5xx) or a 429 it posts the same envelope again,
 * which the gateway takes as the same transfer (a replay).
 */
export async function postUntilAnswered(
  t: Terminal,
  gateway: string,
  direction: Direction,
  envelope: Envelope,
): Promise<TransferStatus> {
  for (;;) {
    try {
      return await politely(() => t.postJob(gateway, direction, envelope));
    } catch (e) {
      if (!isUnclear(e)) throw e;
    }
  }
}

/** The gateway's journal: waits until every one of `ids` is `done` or `refused`; returns each state. */
export async function journalStates(gwStore: Store, ids: readonly string[]): Promise<Map<string, string>> {
  for (;;) {
    const rows = await gwStore.db
      .selectFrom('gateway_jobs')
      .select(['id', 'state'])
      .where('id', 'in', [...ids])
      .execute();
    if (rows.length === ids.length && rows.every((r) => r.state === 'done' || r.state === 'refused')) {
      return new Map(rows.map((r) => [r.id, r.state]));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * What the wide bank holds for one transfer of the gateway: its idempotency rows (kind each) and the
 * ledger transactions posted under them.
 */
export async function bankRecordsOf(
  net: ProcessNet,
  transferId: string,
): Promise<{ requests: string[]; transactions: number }> {
  const requests = await net.bankStore.db
    .selectFrom('bank_requests')
    .select(['key', 'kind'])
    .where('key', 'like', `%:${net.gatewayKey}:${transferId}`)
    .execute();
  const keys = requests.map((r) => r.key);
  const entries =
    keys.length === 0
      ? []
      : await net.bankStore.db.selectFrom('bank_entries').select('tx_id').where('ref', 'in', keys).execute();
  return { requests: requests.map((r) => r.kind), transactions: new Set(entries.map((e) => e.tx_id)).size };
}

const CheckStateResponse = Type.Object({ states: Type.Array(Type.Object({ state: Type.String() })) });

/** NUT-07 states of `proofs` at `mint`, in order. */
export async function noteStates(mint: string, proofs: readonly Proof[]): Promise<string[]> {
  const curve = defaultCurve();
  const Ys = proofs.map((p) => bytesToHex(hashToCurve(curve, utf8(p.secret))));
  const { states } = await call({
    base: mint,
    method: 'POST',
    path: '/v1/checkstate',
    body: { Ys },
    schema: CheckStateResponse,
  });
  return states.map((s) => s.state);
}

/**
 * Indexes of the conversions whose sender's notes are not all SPENT where they were issued (the wide
 * bank for job 2, the local mint for job 1): after a load, the list must be empty.
 */
export async function unspentSenders(
  net: ProcessNet,
  transfers: readonly { direction: Direction; proofs: readonly Proof[] }[],
): Promise<number[]> {
  const spent = await eachPolitely(transfers, 8, async (t) => {
    const states = await noteStates(t.direction === 'wan-to-lan' ? net.bankUrl : net.lan, t.proofs);
    return states.every((s) => s === 'SPENT');
  });
  return spent.flatMap((ok, i) => (ok ? [] : [i]));
}

/** The gateway's requests at the bank (`bank_requests`): their kinds by transfer id, and all of them. */
export async function bankRequestsOf(
  net: ProcessNet,
): Promise<{ kinds: Map<string, string[]>; keys: string[] }> {
  const requests = await net.bankStore.db
    .selectFrom('bank_requests')
    .select(['key', 'kind'])
    .where('key', 'like', `%:${net.gatewayKey}:%`)
    .execute();
  const kinds = new Map<string, string[]>();
  for (const r of requests) {
    const id = r.key.slice(r.key.lastIndexOf(':') + 1);
    kinds.set(id, [...(kinds.get(id) ?? []), r.kind]);
  }
  return { kinds, keys: requests.map((r) => r.key) };
}
