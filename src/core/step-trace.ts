/**
 * A per-conversion step trace, for `lancash bench gateway --trace-steps`: the servers mark each hop of
 * a conversion (its transfer id, a step name, the time) and the bench turns the marks into the gaps
 * between them, so the latency of a conversion shows where it waits. Off unless a sink is set (the
 * bench sets one; servers never do): a mark then costs one call and one comparison.
 */

/** Receives each mark: the transfer id, the step, and when (unix ms, fractional, monotonic within the process). */
export type StepSink = (id: string, step: string, at: number) => void;

let sink: StepSink | undefined;

/** Sets (or, undefined, clears) where marks go. */
export function setStepSink(s: StepSink | undefined): void {
  sink = s;
}

/** Now as marks count it: unix ms with sub-ms resolution, comparable across processes of one machine. */
export function traceClock(): number {
  return performance.timeOrigin + performance.now();
}

/** Marks step `step` of transfer `id` now, or at `at` (a `traceStart()` taken before the id was known). */
export function traceStep(id: string, step: string, at?: number): void {
  if (sink !== undefined) sink(id, step, at ?? traceClock());
}

/** The time to mark later with `traceStep(id, step, at)`, when the id is not known yet; 0 when off. */
export function traceStart(): number {
  return sink === undefined ? 0 : traceClock();
}
