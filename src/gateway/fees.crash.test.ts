/**
 * The gateway's crash at every step with NUT-02 input fees on both mints (docs/gateway.md, "Fees"), on
 * every dialect of the gateway's database: the operator rotates the wide bank's and the local mint's
 * keysets to a fee (`keyset rotate --input-fee-ppk`) before the transfers, so job 1 takes local notes
 * that pay the local mint's fee and job 2 wide notes that pay the bank's. A crash at each step of job 1
 * and job 2 still loses nothing and creates nothing, each job converts exactly its notes' value less
 * their fee, and after recovery the reserve equals the local money outstanding plus the local fees
 * collected (the audit balances). The suite is `test-support/gateway-crash.ts`, shared with the
 * fee-free `crash.test.ts`; the payroll's and payout's crash with the same fees is
 * `payroll/fees.crash.test.ts`.
 */
import { DIALECTS } from '../test-support/dialects.js';
import { describeCrashAtEveryStep, FEES_ON_BOTH_MINTS } from '../test-support/gateway-crash.js';

for (const dialect of DIALECTS) {
  describeCrashAtEveryStep(`gateway crash at every step with input fees on both mints, on ${dialect}`, {
    dialect,
    fees: FEES_ON_BOTH_MINTS,
  });
}
