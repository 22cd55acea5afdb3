/** Test helper: the stable code a call was refused with, so tests assert on codes, not on messages. */
import { isLancashError } from '../core/errors.js';

/** The `LancashError` code `p` rejects with; throws when it succeeds or fails with anything else. */
export async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (isLancashError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a refusal, the call succeeded');
}
