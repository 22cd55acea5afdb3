/**
 * The wide bank of `bench gateway --bank-process`, forked by `bank-side.ts`: a bank on its own bench
 * store with its own crypto workers and event loop, as deployed (another organisation's server on the
 * WAN), so it no longer shares the gateway's event loop. It answers the bench's few calls over IPC
 * (funding the traffic, filling its books) and closes on `close`.
 */
import { availableParallelism } from 'node:os';
import { createCryptoPool } from '../mint/crypto-pool.js';
import { type BankAnswer, type BankRequest, type BankSide, openBank } from './bank-side.js';

const send = (m: BankAnswer) => {
  if (process.connected) process.send?.(m);
};

const pool = createCryptoPool({ size: availableParallelism() });
let bank: BankSide | undefined;
let closing: Promise<void> | undefined;

/** Closes the bank, its store (and throwaway server) and the workers, then exits (a stray handle must not keep it). */
function close(): Promise<void> {
  closing ??= (async () => {
    try {
      await bank?.close();
      await pool.close();
    } finally {
      process.exit(0);
    }
  })();
  return closing;
}

async function handle(m: BankRequest): Promise<void> {
  if (m.kind === 'open') {
    bank = await openBank(m.dialect, pool, { pgStats: m.pgStats });
    send({
      kind: 'ready',
      url: bank.url,
      info: bank.info,
      keysetId: bank.keysetId,
      description: bank.description,
      statements: bank.statements !== undefined,
      ...(bank.activity ? { activity: bank.activity } : {}),
    });
    return;
  }
  if (m.kind === 'close') return close();
  try {
    if (bank === undefined) throw new Error('the bank is not open');
    if (m.kind === 'stats') {
      const probe = bank.statements;
      if (probe === undefined) throw new Error('the bank counts no statements');
      if (m.op === 'reset') await probe.reset();
      else return send({ kind: 'done', seq: m.seq, totals: await probe.read() });
    } else if (m.kind === 'fund') await bank.fund(m.funding);
    else await bank.fillBooks(m.rows, m.now);
    send({ kind: 'done', seq: m.seq });
  } catch (e) {
    send({ kind: 'error', seq: m.seq, message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}

process.on('message', (m: BankRequest) => {
  handle(m).catch((e: unknown) => {
    send({ kind: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    void close();
  });
});
// The bench went away without closing: nothing left to serve.
process.once('disconnect', () => void close());
