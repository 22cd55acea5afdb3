/**
 * One wallet process per home directory at a time: a lock file holding the owner's pid. SQLite keeps
 * every commit atomic on its own; the lock keeps two processes from resuming the same open operation
 * at once. A lock left by a process that died (SIGKILL, power cut) is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../core/errors.js';

export interface Lock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<home>/wallet.lock` or throws `WalletBusy` naming the process that holds it. */
export function lockHome(home: string): Lock {
  const file = join(home, 'wallet.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isSafeInteger(pid) && pid !== process.pid && alive(pid)) {
        return fail(
          'WalletBusy',
          { reason: `pid ${pid}` },
          `the wallet in ${home} is in use by process ${pid}; try again when it has finished`,
        );
      }
      rmSync(file, { force: true }); // left by a process that is gone
      continue;
    }
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return { release: () => rmSync(file, { force: true }) };
  }
  return fail('WalletBusy', { reason: 'lock contended' }, `the wallet in ${home} is in use; try again`);
}
