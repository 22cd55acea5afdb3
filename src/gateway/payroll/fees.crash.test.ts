/**
 * Payroll and payout survive a crash at every step with NUT-02 input fees on both mints (docs/gateway.md,
 * "Fees"): the payroll generates exactly its amount and the member's receive swap pays the local mint's
 * fee; a payout converts its notes' value less their fee and withdraws exactly that, so the reserve
 * keeps the local fees collected (the audit balances). The suite is `test-support/payroll-crash.ts`,
 * shared with the fee-free `crash.test.ts` (SQLite); this one runs the gateway on PostgreSQL when it is
 * under test (SQLite otherwise), so the two files cover both dialects and both fee settings for one
 * run each: every dialect with fees measured ≈ 550 s of CI's one worker, against ≈ 300 s for one. The
 * conversions' crash with the same fees is `gateway/fees.crash.test.ts`, on every dialect.
 */
import { DIALECTS } from '../../test-support/dialects.js';
import { FEES_ON_BOTH_MINTS } from '../../test-support/gateway-crash.js';
import { describePayrollCrash } from '../../test-support/payroll-crash.js';

const dialect = DIALECTS.includes('postgres') ? 'postgres' : 'sqlite';
describePayrollCrash(`payroll and payout: crash at every step with input fees on both mints, on ${dialect}`, {
  dialect,
  fees: FEES_ON_BOTH_MINTS,
});
