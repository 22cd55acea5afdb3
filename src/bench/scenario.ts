/**
 * What a benchmark scenario is: a function of the run's options that returns its JSON figures. The
 * scenarios import this, and `index.ts` only lists them, so no scenario depends on the list.
 */
export interface ScenarioOptions {
  seconds: number;
  dialects: string[];
  /** Rows of finished history to put in the books first (spent notes, finished jobs); scenarios that fill books say so. */
  rows?: number;
}

export type Scenario = (o: ScenarioOptions) => Promise<unknown>;
