/**
 * Payroll and payout survive a crash at every step, fee-free, the gateway on SQLite (the suite:
 * `test-support/payroll-crash.ts`; with NUT-02 fees on both mints, the gateway on PostgreSQL:
 * `fees.crash.test.ts` beside this file).
 */
import { describePayrollCrash } from '../../test-support/payroll-crash.js';

describePayrollCrash('payroll and payout: crash at every step', { dialect: 'sqlite' });
