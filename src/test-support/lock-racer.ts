/**
 * One contender in the home-lock race (`src/wallet/node/lock.test.ts`): waits for the shared start
 * time, takes the lock of HOME, holds it HOLD_MS, and appends `got <from> <to>` (unix ms) or `busy`
 * to LOG. Usage: node --import tsx lock-racer.ts HOME LOG START HOLD_MS
 */
import { appendFileSync } from 'node:fs';
import { isLancashError } from '../core/errors.js';
import { lockHome } from '../wallet/node/lock.js';

const [home = '', log = '', start = '0', hold = '300'] = process.argv.slice(2);
if (Date.now() > Number(start)) appendFileSync(log, 'late\n');
while (Date.now() < Number(start)) {
  // spin: every contender leaves this loop in the same millisecond
}
try {
  const lock = lockHome(home);
  const from = Date.now();
  while (Date.now() - from < Number(hold)) {
    // hold the lock without giving the event loop a turn, as a busy wallet step would
  }
  appendFileSync(log, `got ${from} ${Date.now()}\n`);
  lock.release();
} catch (e) {
  if (!isLancashError(e, 'WalletBusy')) throw e;
  appendFileSync(log, 'busy\n');
}
