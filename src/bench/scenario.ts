/**
 * What a benchmark scenario is: a function of the run's options that returns its JSON figures. The
 * scenarios import this, and `index.ts` only lists them, so no scenario depends on the list.
 */
export interface ScenarioOptions {
  seconds: number;
  dialects: string[];
  /** Rows of finished history to put in the books first (spent notes, finished jobs); scenarios that fill books say so. */
  rows?: number;
  /** Untimed seconds before each window (gateway, mint; default `GATEWAY_WARMUP_SECONDS`, `MINT_WARMUP_SECONDS`). */
  warmupSeconds?: number;
  /** Gateway: the open loop's arrivals a second per direction, `half` the closed loop's throughput (default), or `none`. */
  rate?: number | 'half' | 'none';
  /** Gateway: the wide bank in its own process rather than the bench's (default: the scenario's). */
  bankProcess?: boolean;
  /**
   * Gateway: each conversion's step marks, answered as the gaps between them per direction (median,
   * p99); the bank's marks only when it runs in the bench process.
   */
  traceSteps?: boolean;
  /**
   * PostgreSQL: each database's statements over the timed window (pg_stat_statements on the throwaway
   * server), per unit of work: `pg-stats.ts`.
   */
  pgStats?: boolean;
}

export type Scenario = (o: ScenarioOptions) => Promise<unknown>;
