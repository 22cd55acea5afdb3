/**
 * NUT-17 WebSocket subscriptions against real processes, with `@cashu/cashu-ts` 4 as the client
 * (`wallet.on.*`): on the wide bank a mint quote's PAID and ISSUED and a melt quote's PAID, and on both
 * mints a proof's UNSPENT then SPENT when a swap spends it. Each delay from the state change (the REST
 * answer that made it) to the notification is printed, not asserted. Hostile input over a raw socket
 * (bad JSON, unknown method and kind, bad filters, too many subscriptions, filters and connections, an
 * oversized message) is refused with stable codes and the server stays healthy; a SIGTERM closes open
 * sockets (1001) and the process exits 0; on PostgreSQL, a spend made through a second process reaches
 * a subscriber of the first (the periodic re-check).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Proof as CashuProof, getEncodedToken, type Wallet } from '@cashu/cashu-ts';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cashuWallet, fundedAtBank, fundedAtLocalMint } from '../test-support/cashu-ts-mints.js';
import { DIALECTS, freshDatabaseUrl } from '../test-support/dialects.js';
import { type ProcessNet, startProcessNet } from '../test-support/gateway-process.js';
import { startProcess, wideBankArgs } from '../test-support/process.js';
import { openRaw, type RawSocket, type Received, useWebSocketsInCashuTs } from '../test-support/ws.js';
import { createFakeLightning } from '../wide-bank/lightning/fake.js';

useWebSocketsInCashuTs();

/** Measured delays, printed at the end: what, ms from the REST answer, ms from the REST request. */
const delays: { what: string; afterAnswer: number; afterRequest: number }[] = [];

let net: ProcessNet;
beforeAll(async () => {
  net = await startProcessNet();
}, 120_000);
afterAll(async () => {
  await net?.close();
  if (delays.length > 0) {
    console.info(
      `NUT-17 delays (ms; negative: the notification came before the REST answer)\n${delays
        .map(
          (d) =>
            `  ${d.what}: ${d.afterAnswer.toFixed(1)} after the answer, ${d.afterRequest.toFixed(1)} after the request`,
        )
        .join('\n')}`,
    );
  }
});

/** Calls `change` and resolves once `notified` has been called; records the delay as `what`. */
async function timed(what: string, change: () => Promise<unknown>, notified: Promise<number>): Promise<void> {
  const t0 = performance.now();
  await change();
  const t1 = performance.now();
  const at = await notified;
  delays.push({ what, afterAnswer: at - t1, afterRequest: at - t0 });
}

/** A promise of the time the first payload `accept`s arrives, and the callback to give cashu-ts. */
function waiter<P>(accept: (p: P) => boolean): { at: Promise<number>; seen: P[]; cb: (p: P) => void } {
  let resolve!: (at: number) => void;
  const at = new Promise<number>((r) => {
    resolve = r;
  });
  const seen: P[] = [];
  return {
    at,
    seen,
    cb: (p) => {
      seen.push(p);
      if (accept(p)) resolve(performance.now());
    },
  };
}

interface MintUnderTest {
  name: string;
  url(): string;
  kinds: string[];
  funded(amount: number): Promise<{ wallet: Wallet; proofs: CashuProof[] }>;
}

const wideBank: MintUnderTest = {
  name: 'the wide bank',
  url: () => net.bankUrl,
  kinds: ['bolt11_mint_quote', 'bolt11_melt_quote', 'proof_state'],
  funded: (amount) => fundedAtBank(net, amount),
};

const localMint: MintUnderTest = {
  name: "the gateway's local mint",
  url: () => net.lan,
  kinds: ['proof_state'],
  funded: (amount) => fundedAtLocalMint(net, amount),
};

const isMessage = (r: Received): r is Extract<Received, { type: 'message' }> => r.type === 'message';
const answerTo = (id: number) => (r: Received) => r.type === 'close' || (isMessage(r) && r.json.id === id);

/** The JSON-RPC error (or result) answering request `id`. */
async function answer(
  s: RawSocket,
  id: number,
): Promise<{ code?: number; data?: { code: number } } & object> {
  const r = await s.next(answerTo(id));
  if (!isMessage(r)) throw new Error(`closed (${r.code}) instead of answering ${id}`);
  return (r.json.error ?? r.json.result) as { code?: number; data?: { code: number } };
}

describe.each([wideBank, localMint])('NUT-17 with cashu-ts on $name', (m) => {
  it('advertises NUT-17 with exactly the kinds it serves', async () => {
    const info = (await (await request(`${m.url()}/v1/info`)).body.json()) as {
      nuts: Record<string, unknown>;
    };
    expect(info.nuts['17']).toEqual({ supported: [{ method: 'bolt11', unit: 'eur', commands: m.kinds }] });
  });

  it('notifies a proof UNSPENT at once, then SPENT when a swap spends it', async () => {
    const { wallet, proofs } = await m.funded(16);
    const spent = waiter<{ state: string; Y: string; witness?: unknown }>((p) => p.state === 'SPENT');
    const cancel = await wallet.on.proofStateUpdates(proofs, spent.cb, (e) => {
      throw e;
    });
    await expect.poll(() => spent.seen.length).toBe(proofs.length);
    expect(spent.seen.every((p) => p.state === 'UNSPENT' && /^0[23][0-9a-f]{64}$/.test(p.Y))).toBe(true);
    // Receiving its own proofs swaps every one of them.
    await timed(`${m.name}: proof SPENT`, () => wallet.receive(proofs), spent.at);
    await expect.poll(() => spent.seen.filter((p) => p.state === 'SPENT').length).toBe(proofs.length);
    // The payload is NUT-07's ProofState, witness included, as /v1/checkstate answers it.
    expect(spent.seen.find((p) => p.state === 'SPENT')).toHaveProperty('witness', null);
    cancel();
    wallet.mint.disconnectWebSocket();
  });

  it('refuses hostile input with stable codes over one connection, which stays usable', async () => {
    const s = await openRaw(m.url());
    s.sendText('{"jsonrpc":"2.0","method":');
    const parse = await s.next(isMessage);
    expect(isMessage(parse) && parse.json).toMatchObject({ error: { code: -32700 }, id: null });
    s.sendText('[1,2,3]');
    expect(await s.next(isMessage)).toMatchObject({ json: { error: { code: -32600 }, id: null } });
    expect(await answer(s, s.request('delete', { subId: 'a' }))).toMatchObject({ code: -32601 });
    expect(
      await answer(s, s.request('subscribe', { kind: 'nope', subId: 'a', filters: ['x'] })),
    ).toMatchObject({
      code: -32602,
      data: { code: 70000 },
    });
    expect(
      await answer(s, s.request('subscribe', { kind: 'proof_state', subId: 'a', filters: ['02zz'] })),
    ).toMatchObject({ code: -32602 });
    expect(
      await answer(s, s.request('subscribe', { kind: 'proof_state', subId: 'a', filters: [] })),
    ).toMatchObject({
      code: -32602,
    });
    expect(await answer(s, s.request('unsubscribe', { subId: 'never' }))).toMatchObject({ code: 72002 });
    if (!m.kinds.includes('bolt11_mint_quote')) {
      // The local mint has no quotes: the kind is not served.
      expect(
        await answer(s, s.request('subscribe', { kind: 'bolt11_mint_quote', subId: 'q', filters: ['x'] })),
      ).toMatchObject({ code: -32602 });
    } else {
      expect(
        await answer(s, s.request('subscribe', { kind: 'bolt11_mint_quote', subId: 'q', filters: ['nope'] })),
      ).toMatchObject({ code: 72002 });
    }
    const y = (i: number) => `02${i.toString(16).padStart(64, '0')}`;
    // 101 filters in one subscription: refused before any read.
    expect(
      await answer(
        s,
        s.request('subscribe', {
          kind: 'proof_state',
          subId: 'many',
          filters: Array.from({ length: 101 }, (_, i) => y(i)),
        }),
      ),
    ).toMatchObject({ code: 72035, data: { info: { limit: 'filters', max: 100 } } });
    // 64 subscriptions are held; the 65th is refused. Sent in bursts below the per-connection rate.
    for (let i = 0; i < 65; i++) {
      const id = s.request('subscribe', { kind: 'proof_state', subId: `s${i}`, filters: [y(1000 + i)] });
      const a = await answer(s, id);
      if (i < 64) expect(a).toMatchObject({ status: 'OK', subId: `s${i}` });
      else expect(a).toMatchObject({ code: 72035, data: { info: { limit: 'subscriptions', max: 64 } } });
      if (i % 16 === 15) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(await answer(s, s.request('unsubscribe', { subId: 's0' }))).toMatchObject({ status: 'OK' });
    expect(
      await answer(s, s.request('subscribe', { kind: 'proof_state', subId: 'again', filters: [y(1)] })),
    ).toMatchObject({ status: 'OK' });
    // A message past 16 KiB closes the connection (1009, message too big).
    s.sendText(
      JSON.stringify({ jsonrpc: '2.0', method: 'subscribe', params: { pad: 'x'.repeat(20_000) }, id: 99 }),
    );
    expect(await s.next((r) => r.type === 'close')).toMatchObject({ code: 1009 });
    expect((await request(`${m.url()}/healthz`)).statusCode).toBe(200);
  }, 60_000);

  it('bounds connections per client: the ninth is refused before the upgrade (429), and the server stays healthy', async () => {
    const open: RawSocket[] = [];
    // Connections of the earlier tests may take a moment to be gone on the server's side.
    const another = async () =>
      openRaw(m.url()).then(
        (s) => {
          open.push(s);
          return 'open';
        },
        (e: Error) => e.message,
      );
    for (let i = 0; i < 8; i++) await expect.poll(another).toBe('open');
    expect(await another()).toBe('upgrade refused: 429');
    const metrics = await (await request(`${m.url()}/metrics`)).body.text();
    expect(
      Number(/lancash_subscriptions_open\{[^}]*"connections"[^}]*\} (\d+)/.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(8);
    open.pop()!.close();
    await expect.poll(another).toBe('open');
    for (const s of open) s.close();
    const { wallet, proofs } = await m.funded(2);
    const states = await wallet.checkProofsStates(proofs);
    expect(states.map((st) => st.state)).toEqual(proofs.map(() => 'UNSPENT'));
  });
});

describe('NUT-17 quotes with cashu-ts on the wide bank', () => {
  it('notifies a mint quote PAID (onceMintPaid), then ISSUED when it is minted', async () => {
    const wallet = await cashuWallet(net.bankUrl);
    const quote = await wallet.createMintQuoteBolt11(32);
    // The fake backend counts every invoice as paid: the first notification is PAID.
    const paid = await wallet.on.onceMintPaid(quote.quote, { timeoutMs: 10_000 });
    expect(paid).toMatchObject({ quote: quote.quote, state: 'PAID', amount: 32, unit: 'eur' });
    const issued = waiter<{ state: string }>((p) => p.state === 'ISSUED');
    const cancel = await wallet.on.mintQuoteUpdates([quote.quote], issued.cb, (e) => {
      throw e;
    });
    await expect.poll(() => issued.seen.length).toBe(1);
    await timed('wide bank: mint quote ISSUED', () => wallet.mintProofsBolt11(32, quote.quote), issued.at);
    // The same object as GET /v1/mint/quote/bolt11/{id} answers.
    const rest = await (await request(`${net.bankUrl}/v1/mint/quote/bolt11/${quote.quote}`)).body.json();
    expect(issued.seen.at(-1)).toEqual(rest);
    cancel();
    wallet.mint.disconnectWebSocket();
  });

  it('notifies a melt quote UNPAID, then PAID when it is melted', async () => {
    const { wallet, proofs } = await wideBank.funded(64);
    const { request: invoice } = await createFakeLightning().createInvoice({ amount: 21 });
    const quote = await wallet.createMeltQuoteBolt11(invoice);
    const paid = waiter<{ state: string }>((p) => p.state === 'PAID');
    const cancel = await wallet.on.meltQuoteUpdates([quote.quote], paid.cb, (e) => {
      throw e;
    });
    await expect.poll(() => paid.seen.length).toBe(1);
    expect(paid.seen[0]).toMatchObject({ state: 'UNPAID', quote: quote.quote });
    const { send } = await wallet.send(21 + Number(quote.fee_reserve), proofs, { includeFees: true });
    await timed('wide bank: melt quote PAID', () => wallet.meltProofsBolt11(quote, send), paid.at);
    const rest = await (await request(`${net.bankUrl}/v1/melt/quote/bolt11/${quote.quote}`)).body.json();
    expect(paid.seen.at(-1)).toEqual(rest);
    cancel();
    wallet.mint.disconnectWebSocket();
  });

  it('a token received by another wallet notifies the sender that its proofs are spent', async () => {
    const { wallet, proofs } = await wideBank.funded(8);
    const spent = waiter<{ state: string }>((p) => p.state === 'SPENT');
    const cancel = await wallet.on.proofStateUpdates(proofs, spent.cb, (e) => {
      throw e;
    });
    const token = getEncodedToken({ mint: net.bankUrl, unit: 'eur', proofs });
    const receiver = await cashuWallet(net.bankUrl);
    await timed('wide bank: sent token received elsewhere', () => receiver.receive(token), spent.at);
    cancel();
    wallet.mint.disconnectWebSocket();
  });
});

describe('NUT-17 and the process', () => {
  it('SIGTERM closes open subscriptions (1001) and the process exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lancash-ws-'));
    try {
      const bank = await startProcess(wideBankArgs(dir));
      const sockets = await Promise.all([openRaw(bank.url), openRaw(bank.url)]);
      for (const s of sockets) {
        const id = s.request('subscribe', {
          kind: 'proof_state',
          subId: 'x',
          filters: [`02${'1'.repeat(64)}`],
        });
        expect(await answer(s, id)).toMatchObject({ status: 'OK' });
      }
      const t0 = performance.now();
      const code = await bank.kill('SIGTERM');
      console.info(
        `NUT-17: exit after SIGTERM with 2 open subscriptions took ${(performance.now() - t0).toFixed(0)} ms`,
      );
      expect(code).toBe(0);
      for (const s of sockets) expect(await s.next((r) => r.type === 'close')).toMatchObject({ code: 1001 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(DIALECTS.includes('postgres'))(
    'a spend through another process on the same PostgreSQL database reaches the subscriber',
    async () => {
      const url = await freshDatabaseUrl('postgres');
      const [a, b] = await Promise.all(
        [0, 1].map(() =>
          startProcess(['wide-bank', '--lightning', 'fake', '--listen', '127.0.0.1:0', '--db', url]),
        ),
      );
      try {
        const watcher = await cashuWallet(a!.url);
        const spender = await cashuWallet(b!.url);
        const quote = await spender.createMintQuoteBolt11(8);
        const proofs = await spender.mintProofsBolt11(8, quote.quote);
        const spent = waiter<{ state: string }>((p) => p.state === 'SPENT');
        const cancel = await watcher.on.proofStateUpdates(proofs, spent.cb, (e) => {
          throw e;
        });
        await expect.poll(() => spent.seen.length).toBe(proofs.length);
        await timed(
          'wide bank, other process (re-check): proof SPENT',
          () => spender.receive(proofs),
          spent.at,
        );
        cancel();
        watcher.mint.disconnectWebSocket();
      } finally {
        await Promise.all([a!.kill(), b!.kill()]);
      }
    },
    60_000,
  );
});
