/**
 * What one hop between two threads costs on this machine when both were just running, and when both
 * had slept first: a message to a worker thread and back, back to back, then each after `idleMs` of
 * sleep. Round fifteen found the second 4–20 times the first on this VM, in wall time and in CPU time
 * (docs/performance.md): a virtual CPU that went idle comes back slow, so the same code costs more
 * CPU at half load than in the closed loop, and much more at a few conversions a second. Printed beside
 * the bound, so a run's half-load CPU can be read against the machine's own penalty for idling.
 */
import { Worker } from 'node:worker_threads';

export interface HopCost {
  /** Mean wall time of one round trip, µs. */
  roundTripUs: number;
  /** Mean CPU time of this process (every thread, user and system) a round trip, µs. */
  cpuUs: number;
}

export interface WakeCost {
  idleMs: number;
  rounds: number;
  hot: HopCost;
  afterIdle: HopCost;
}

/** Untimed hops first: fewer left the hot figure 4–20 times its settled value in trials. */
const WARM_HOPS = 3000;

// A worker that answers every message with itself: the hop and nothing else.
const ECHO = `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));`;

/** Runs `rounds` hops each way, after `WARM_HOPS` untimed ones (both threads compiled and running). */
export async function wakeCost(rounds = 200, idleMs = 10): Promise<WakeCost> {
  const worker = new Worker(ECHO, { eval: true });
  const hop = () =>
    new Promise<void>((resolve) => {
      worker.once('message', () => resolve());
      worker.postMessage(0);
    });
  const sleep = () => new Promise((resolve) => setTimeout(resolve, idleMs));
  const measure = async (idle: boolean): Promise<HopCost> => {
    let wallMs = 0;
    let cpuUs = 0;
    for (let i = 0; i < rounds; i++) {
      if (idle) await sleep();
      const cpu = process.cpuUsage();
      const from = performance.now();
      await hop();
      wallMs += performance.now() - from;
      const used = process.cpuUsage(cpu);
      cpuUs += used.user + used.system;
    }
    return { roundTripUs: round1((wallMs * 1000) / rounds), cpuUs: round1(cpuUs / rounds) };
  };
  try {
    for (let i = 0; i < WARM_HOPS; i++) await hop();
    const hot = await measure(false);
    const afterIdle = await measure(true);
    return { idleMs, rounds, hot, afterIdle };
  } finally {
    await worker.terminate();
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
