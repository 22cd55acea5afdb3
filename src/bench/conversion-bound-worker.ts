/**
 * Worker side of `conversionBoundAllCores`: prepares keys and notes, says `ready`, then runs
 * conversions' crypto (alternating directions, amounts as given) for `seconds` when told to go, and
 * posts how many it ran.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Amount } from '../core/money.js';
import { conversionCrypto, makeNotes, prepareConversionCrypto } from './conversion-crypto.js';
import { notesOf } from './traffic.js';

const { seconds, amounts } = workerData as { seconds: number; amounts: Amount[] };
const c = await prepareConversionCrypto();
const inputs = amounts.map((a) => makeNotes(c, notesOf(a)));
parentPort?.once('message', async () => {
  const deadline = performance.now() + seconds * 1000;
  let conversions = 0;
  let notes = 0;
  do {
    const i = conversions % inputs.length;
    await conversionCrypto(c, conversions % 2 === 0 ? 'lan-to-wan' : 'wan-to-lan', inputs[i]!);
    notes += inputs[i]!.length;
    conversions++;
  } while (performance.now() < deadline);
  parentPort?.postMessage({ conversions, notes });
});
parentPort?.postMessage('ready');
