/**
 * Job 2's intake sends its NUT-07 `checkstate` while the crypto pool checks the notes' DLEQ proofs
 * (a small request: its Ys are hashed on the main thread), and keeps the sequence for a large one.
 * Both must pass before anything is journaled, and the refusals are the ones of the sequence: a
 * failed proof is `DleqInvalid` whatever the bank answers. Order is observed by events, never time:
 * the fake pool answers a DLEQ job only after a few turns of the event loop.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UnclearOutcome } from '../../core/http/client.js';
import type { Proof } from '../../core/protocol/cashu.js';
import { getGatewayInfo, JOB2_PATH } from '../../core/protocol/gateway.js';
import { inThreadCrypto, type MintCrypto } from '../../mint/crypto.js';
import { DIALECTS } from '../../test-support/dialects.js';
import { curve, startNet, type TestNet, wrapBank } from '../../test-support/gateway-net.js';
import { sendJson } from '../../test-support/http.js';
import { Terminal } from '../../test-support/terminal.js';
import type { WideBankPort } from '../wide-bank.js';

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe.each(DIALECTS)('job 2 intake: checkstate beside the DLEQ check on %s', (dialect) => {
  let net: TestNet;
  /** What the intake did, in order: `dleq.start`, `dleq.end`, `checkstate`, `checkstate.end`. */
  let events: string[];
  /** How the bank's checkstate answers; default: as the real bank. */
  let checkState:
    | ((real: WideBankPort, Ys: string[]) => Promise<Awaited<ReturnType<WideBankPort['checkState']>>>)
    | undefined;
  /** Hashes the DLEQ jobs carried already (the `Y` column). */
  let knownYs: number[];

  async function start(): Promise<void> {
    events = [];
    knownYs = [];
    checkState = undefined;
    const inner = inThreadCrypto(curve);
    const crypto: MintCrypto = {
      run: (job) => inner.run(job),
      unblind: (job) => inner.unblind(job),
      close: () => inner.close(),
      async verifyDleq(job) {
        events.push('dleq.start');
        knownYs.push(job.notes.Y?.length ?? 0);
        // A pool's round trip: the answer comes a few turns later, after what was sent meanwhile.
        await turns(20);
        const answer = await inner.verifyDleq(job);
        events.push('dleq.end');
        return answer;
      },
    };
    net = await startNet(dialect, {
      gateway: { crypto },
      bank: (real) =>
        wrapBank(real, {
          async checkState(Ys) {
            events.push('checkstate');
            try {
              return await (checkState ? checkState(real, Ys) : real.checkState(Ys));
            } finally {
              events.push('checkstate.end');
            }
          },
        }),
    });
  }

  afterEach(async () => {
    expect(await net.audit()).toEqual([]);
    await net.close();
  });

  async function jobs(): Promise<number> {
    return (await net.gwStore.db.selectFrom('gateway_jobs').select('id').execute()).length;
  }

  it('a small request: the call is sent before the pool answers, the pool hashes nothing again, it converts', async () => {
    await start();
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    const proofs = await w.mintWide(net.bankUrl, 13); // 3 notes
    w.takeAll(net.bankUrl);
    const { status } = await w.sendJob(net.wanUrl, 'wan-to-lan', { proofs, destination: l.address });
    expect(events.indexOf('checkstate')).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('checkstate')).toBeLessThan(events.indexOf('dleq.end'));
    expect(knownYs).toEqual([3]);
    await net.gw.runner.settle();
    await l.receive(net.lanUrl);
    expect(l.balance(net.lanUrl)).toBe(13);
    expect(status.state).toBe('receiving');
  });

  it('a large request keeps the sequence: the call only after the pool answered', async () => {
    await start();
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    const proofs = await w.mintWide(net.bankUrl, 2 ** 17 - 1); // 17 notes
    expect(proofs).toHaveLength(17);
    w.takeAll(net.bankUrl);
    await w.sendJob(net.wanUrl, 'wan-to-lan', { proofs, destination: l.address });
    expect(events.slice(0, 3)).toEqual(['dleq.start', 'dleq.end', 'checkstate']);
    expect(knownYs).toEqual([0]);
    await net.gw.runner.settle();
    await l.receive(net.lanUrl);
    expect(l.balance(net.lanUrl)).toBe(2 ** 17 - 1);
  });

  it('refuses as the sequence did: a bad proof is DleqInvalid whatever the bank answers, journaling nothing', async () => {
    await start();
    const w = await Terminal.create('wan');
    const l = await Terminal.create('lan');
    const [a, b] = await w.mintWide(net.bankUrl, 3); // notes of 1 and 2
    w.takeAll(net.bankUrl);
    const info = await getGatewayInfo(net.wanUrl);
    /** The refusal's code, a 503's too. */
    const send = async (proofs: Proof[]) => {
      const envelope = await w.sealJob(info, 'wan-to-lan', { proofs, destination: l.address });
      const answer = await sendJson(net.wanUrl, 'POST', JOB2_PATH, envelope);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      return answer.json.code as number;
    };
    const forged = { ...a!, C: b!.C };

    // The bank does not answer: the forged note is still DleqInvalid (70009), the good one 503.
    checkState = async () => {
      throw new UnclearOutcome('network', 'test checkstate', 'no answer');
    };
    expect(await send([forged])).toBe(70009);
    expect(await send([b!])).toBe(74002);
    // The bank answers slowly and calls the note spent: DleqInvalid still (the proof is checked first).
    checkState = async (_, Ys) => {
      await turns(40);
      return Ys.map(() => 'SPENT' as const);
    };
    expect(await send([forged])).toBe(70009);
    expect(await send([b!])).toBe(11001);
    // Every call the refusals sent has ended, and nothing was journaled.
    await turns(60);
    expect(events.filter((e) => e === 'checkstate')).toHaveLength(4);
    expect(events.filter((e) => e === 'checkstate.end')).toHaveLength(4);
    expect(await jobs()).toBe(0);

    // The bank answering as itself again, both notes convert.
    checkState = undefined;
    const { status } = await w.sendJob(net.wanUrl, 'wan-to-lan', {
      proofs: [a!, b!],
      destination: l.address,
    });
    expect(status.amount).toBe(3);
    expect(await jobs()).toBe(1);
    await net.gw.runner.settle();
  });
});
