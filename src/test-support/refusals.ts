/** Test helpers: the refusal a call ended with, so tests assert on stable codes, not on messages. */
import { isLancashError, type LancashError } from '../core/errors.js';

/** The `LancashError` `p` rejects with; throws when it succeeds or fails with anything else. */
export async function refusalOf(p: Promise<unknown>): Promise<LancashError> {
  try {
    await p;
  } catch (e) {
    if (isLancashError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal, the call succeeded');
}

/** The code of the `LancashError` `p` rejects with; throws when it succeeds or fails with anything else. */
export async function codeOf(p: Promise<unknown>): Promise<number> {
  return (await refusalOf(p)).code;
}
