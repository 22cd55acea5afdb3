/**
 * `bench wide-bank`: notes/s of the wide bank's issue server and receiving server (envelope opened,
 * notes signed or verified on the worker pool, one transaction with the ledger posting and the
 * stored sealed answer) on each dialect, against the all-core crypto bound measured in the same run.
 * Services are called directly (no HTTP); each request carries 64 notes. The holder's side (sealing
 * requests, making notes) is prepared before the clock starts: receive inputs are made with the
 * keyset's private keys (C = k·Y) and issue outputs are random points.
 */
import { randomUUID } from 'node:crypto';
import { bytesToHex } from '../core/bytes.js';
import { type Envelope, generateEncryptionKeyPair, sealJson } from '../core/envelope/index.js';
import { BANK_ISSUE_REQUEST, BANK_RECEIVE_REQUEST } from '../core/protocol/bank.js';
import { IssueService } from '../wide-bank/issue/service.js';
import { BankKeys } from '../wide-bank/keys.js';
import { Ledger } from '../wide-bank/ledger/service.js';
import { ReceiveService } from '../wide-bank/receive/service.js';
import { BATCH, batchesFor, drive, notesOf, outputsOf, round, withBenchMint } from './harness.js';
import { cryptoBoundAllCores } from './parallel.js';
import type { ScenarioOptions } from './scenario.js';

export async function wideBankScenario(o: ScenarioOptions): Promise<unknown> {
  const bound = await cryptoBoundAllCores(o.seconds);
  const results: Record<string, unknown> = {};
  for (const dialect of o.dialects) {
    const r = await rates(dialect, o.seconds, bound.notesPerSec);
    results[dialect] = {
      ...r,
      issue: { ...r.issue, ratioToBound: round(r.issue.notesPerSec / bound.notesPerSec, 3) },
      receive: { ...r.receive, ratioToBound: round(r.receive.notesPerSec / bound.notesPerSec, 3) },
    };
  }
  return {
    scenario: 'wide-bank',
    batch: BATCH,
    cores: bound.cores,
    cryptoBound: {
      what: 'hash_to_curve + verify + blind-sign + DLEQ per note, native backend, all cores (issue does the sign half, receive the verify half)',
      notesPerSec: Math.round(bound.notesPerSec),
    },
    ...results,
  };
}

function rates(dialect: string, seconds: number, boundRate: number) {
  return withBenchMint(dialect, {}, async ({ mint, curve, bench }) => {
    const ledger = new Ledger(bench.store);
    const keys = await BankKeys.load(bench.store);
    const holder = await generateEncryptionKeyPair();
    const { id } = await ledger.openAccount(holder.publicKey);
    await ledger.deposit(id, 2 ** 49, 'bench');
    const ks = mint.keysets.current();
    const seal = (type: string, payload: unknown) =>
      sealJson({
        type,
        transferId: randomUUID(),
        sender: holder,
        recipient: keys.encryption.publicKey,
        payload,
      });

    const issues: Envelope[] = [];
    const receives: Envelope[] = [];
    const requests = batchesFor(boundRate, seconds);
    for (let r = 0; r < requests; r++) {
      issues.push(await seal(BANK_ISSUE_REQUEST, { amount: BATCH, outputs: outputsOf(curve, ks) }));
      const proofs = notesOf(curve, ks);
      receives.push(await seal(BANK_RECEIVE_REQUEST, { proofs, account: bytesToHex(holder.publicKey) }));
    }
    const issue = new IssueService({ mint, ledger, keys });
    const receive = new ReceiveService({ mint, ledger, keys });
    return {
      issue: await drive(issues, seconds, (e) => issue.issue(e), 'requestsPerSec'),
      receive: await drive(receives, seconds, (e) => receive.receive(e), 'requestsPerSec'),
      server: bench.description,
    };
  });
}
