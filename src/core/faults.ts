/**
 * Test-only fault injection: `LANCASH_FAULT=point[,point…]` makes the process die abruptly (SIGKILL,
 * as a power cut would) when it reaches a named point, e.g. `wide-bank:issue:after-commit` or
 * `gateway:job1:after-issue`. Crash tests use it to prove that every journaled step resumes. Without
 * the variable, `fault` costs one Set lookup.
 */
const points = new Set(
  (process.env.LANCASH_FAULT ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean),
);

/** Dies here if this point is armed. */
export function fault(point: string): void {
  if (points.has(point)) {
    process.stderr.write(`lancash: fault injected at ${point}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}

/** Whether any fault is armed (servers log a warning at start-up). */
export function faultsArmed(): string[] {
  return [...points];
}
