/**
 * Issue 8 item 3: one WAN request must not stall the gateway, nor spend its standing with the bank.
 * Real `lancash wide-bank` and `lancash gateway` processes, a fault proxy between them counting (and
 * holding) the gateway's calls to the bank:
 *   (a) a job-2 envelope of 1000 copies of one valid note is refused `DuplicateInputs` before any
 *       DLEQ check (the gateway's metric) and before any call to the bank (the proxy's count);
 *   (b) 1000 notes of random keyset ids are refused `KeysetUnknown` after at most one fetch of the
 *       bank's keyset list, repeated attacks included; a real job 2 right after converts;
 *   (c) a flood from one client (127.0.0.2) is answered 429 once that client has its bound of notes in
 *       flight, while another client's (127.0.0.1) job 2 converts meanwhile.
 * Every assertion counts calls, checks or answers, never time. The audit balances after each.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Proof } from '../../core/protocol/cashu.js';
import { getGatewayInfo, JOB2_PATH } from '../../core/protocol/gateway.js';
import {
  fundWide,
  journalStates,
  type ProcessNet,
  startProcessNet,
} from '../../test-support/gateway-process.js';
import { metricValue, refusalCode, sendJson } from '../../test-support/http.js';
import { randomId, Terminal, waitForTransfer } from '../../test-support/terminal.js';

/** The DLEQ proofs job 2's intake checked, on the gateway's LAN `/metrics`. */
const DLEQ_CHECKS = 'lancash_gateway_intake_dleq_checks_total';
/** Another client on the same machine: the gateway bounds clients by IP. */
const FLOOD_FROM = '127.0.0.2';

async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('job 2 intake under attack from the WAN', () => {
  let net: ProcessNet;
  /** Requests the gateway sent to the bank (through the proxy) while `run` ran. */
  async function bankCalls<T>(run: () => Promise<T>): Promise<[T, number]> {
    const before = net.proxy!.stats().received;
    const result = await run();
    return [result, net.proxy!.stats().received - before];
  }

  async function convert(w: Terminal, proofs: Proof[]): Promise<void> {
    const l = await Terminal.create('lan');
    const { status } = await w.sendJob(net.wan, 'wan-to-lan', { proofs, destination: l.address });
    expect(await waitForTransfer(net.wan, status.transferId)).toMatchObject({ state: 'done' });
    await l.receive(net.lan);
    expect(l.balance(net.lan)).toBe(proofs.reduce((a, p) => a + p.amount, 0));
  }

  beforeAll(async () => {
    net = await startProcessNet({ proxy: true, env: { LANCASH_LOG_LEVEL: 'warn' } });
  });
  afterEach(async () => {
    net.proxy!.plan([]);
    expect(await net.audit()).toEqual([]);
  });
  afterAll(async () => {
    await net?.close();
  });

  it('(a) 1000 copies of one valid note: DuplicateInputs before any DLEQ check or bank call', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await fundWide(net, [{ terminal: w, amount: 1 }]);
    const [note] = w.takeAll(net.bankUrl) as [Proof];
    const info = await getGatewayInfo(net.wan);
    const checksBefore = await metricValue(net.lan, DLEQ_CHECKS);
    expect(checksBefore).toBeDefined();

    const [codes, calls] = await bankCalls(async () => {
      const out: number[] = [];
      for (let i = 0; i < 3; i++) {
        const proofs = Array.from({ length: 1000 }, () => note);
        const envelope = await w.sealJob(info, 'wan-to-lan', { proofs, destination: l.address });
        out.push(refusalCode(await sendJson(net.wan, 'POST', JOB2_PATH, envelope)));
      }
      return out;
    });
    expect(codes).toEqual([11007, 11007, 11007]);
    expect(calls).toBe(0);
    expect(await metricValue(net.lan, DLEQ_CHECKS)).toBe(checksBefore);

    // The note itself is good: alone it converts, checked once.
    await convert(w, [note]);
    expect(await metricValue(net.lan, DLEQ_CHECKS)).toBe(checksBefore! + 1);
  });

  it('(b) 1000 notes of random keyset ids: KeysetUnknown at O(1) bank calls; a real job 2 right after converts', async () => {
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await fundWide(net, [{ terminal: w, amount: 5 }]);
    const real = w.takeAll(net.bankUrl);
    const model = real[0]!;
    const info = await getGatewayInfo(net.wan);
    const junk = (): Proof[] =>
      Array.from({ length: 1000 }, () => ({
        ...model,
        id: `00${randomBytes(7).toString('hex')}`,
        secret: randomId(),
      }));

    const [codes, calls] = await bankCalls(async () => {
      const out: number[] = [];
      for (let i = 0; i < 3; i++) {
        const envelope = await w.sealJob(info, 'wan-to-lan', { proofs: junk(), destination: l.address });
        out.push(refusalCode(await sendJson(net.wan, 'POST', JOB2_PATH, envelope)));
      }
      return out;
    });
    expect(codes).toEqual([12001, 12001, 12001]);
    // The bank's keyset list, fetched once (and at most once more if the attacks took seconds).
    expect(calls).toBeLessThanOrEqual(2);

    await convert(w, real);
  });

  it('(c) a flood from one client gets 429 while another client’s job 2 converts', async () => {
    const flooder = await Terminal.create('wan');
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    await fundWide(net, [
      ...Array.from({ length: 1000 }, () => ({ terminal: flooder, amount: 1 })),
      { terminal: w, amount: 7 },
    ]);
    const notes = flooder.takeAll(net.bankUrl);
    expect(notes).toHaveLength(1000);
    const info = await getGatewayInfo(net.wan);
    const flood = async () => {
      const envelope = await flooder.sealJob(info, 'wan-to-lan', { proofs: notes, destination: l.address });
      return {
        id: envelope.transferId,
        answer: await sendJson(net.wan, 'POST', JOB2_PATH, envelope, { from: FLOOD_FROM }),
      };
    };

    // The bank's answers to the flood's first two checkstates are held: those intakes stay in flight.
    net.proxy!.plan([{ path: '/v1/checkstate', method: 'POST', fault: 'delay', ms: 5000, times: 2 }]);
    const held = [flood(), flood()];
    await until(() => net.proxy!.stats().faults.delay === 2);
    const more = await Promise.all([flood(), flood(), flood()]);
    expect(more.map((m) => refusalCode(m.answer))).toEqual([72003, 72003, 72003]);

    // Another client meanwhile: its job 2 converts.
    await convert(w, w.takeAll(net.bankUrl));

    // The two held intakes end, taken: each job then ends (done or refused by the bank), nothing lost.
    const taken = await Promise.all(held);
    expect(taken.map((t) => t.answer.status)).toEqual([200, 200]);
    const states = await journalStates(
      net.gwStore,
      taken.map((t) => t.id),
    );
    expect(states.size).toBe(2);
  });
});
