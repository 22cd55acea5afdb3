/**
 * A free loopback port for a server that another process will bind a little later (a child server,
 * a throwaway PostgreSQL, a README command run by a test).
 *
 * Why not `listen(0)` and release: the port the kernel hands out comes from its ephemeral range, the
 * same pool every outgoing connection and every other `listen(0)` draws from, so on a busy machine
 * it can be taken again before the child binds it. CI met exactly that (stop 26: the README test's
 * wide bank, "127.0.0.1:33451 is already in use"). A port below the ephemeral range is never handed
 * out by the kernel; only another explicit pick can take it, and a probe bind skips ports in use.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Lowest port we pick: above the registered ports that services on a developer's machine tend to use. */
const LOWEST = 20_000;
/** Where the kernel's ephemeral range starts when it cannot be read (IANA's dynamic range, macOS). */
const IANA_DYNAMIC = 49_152;
const TRIES = 200;

/** Ports this process handed out, so two picks never collide before their servers bind. */
const handedOut = new Set<number>();

/** Start of the kernel's ephemeral port range (Linux: `/proc/sys/net/ipv4/ip_local_port_range`). */
export function ephemeralStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : IANA_DYNAMIC;
  } catch {
    return IANA_DYNAMIC;
  }
}

/** Whether `port` can be bound on 127.0.0.1 now (the probe is closed again at once). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** Ports `from` up to (not including) `to`. */
export interface PortRange {
  from: number;
  to: number;
}

/** From 20000 up to the ephemeral range; none when that is too small to pick from (an unusual kernel). */
function belowEphemeral(): PortRange | undefined {
  const to = ephemeralStart();
  return to - LOWEST >= 1000 ? { from: LOWEST, to } : undefined;
}

/**
 * A loopback port in `range` (default: below the ephemeral range), free now and not handed out
 * before by this process; the kernel's pick when there is no range or every try failed.
 */
export async function freePort(range = belowEphemeral()): Promise<number> {
  if (range === undefined) return kernelPort();
  for (let i = 0; i < TRIES; i++) {
    // Random, so pickers in other processes (parallel test workers) seldom try the same port.
    const port = range.from + Math.floor(Math.random() * (range.to - range.from));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  return kernelPort();
}

/** The kernel's pick from the ephemeral range, released at once (the fallback). */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(address)));
    });
  });
}
