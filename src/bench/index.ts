/**
 * Benchmark scenarios by name (`lancash bench NAME`, `npm run bench -- NAME`). Each prints JSON figures
 * with the bound they are compared against, measured in the same run on the same machine.
 */
import { gatewayScenario } from './gateway.js';
import { mintScenario } from './mint.js';
import type { Scenario } from './scenario.js';
import { wideBankScenario } from './wide-bank.js';

export const SCENARIOS: Record<string, Scenario> = {
  mint: mintScenario,
  'wide-bank': wideBankScenario,
  gateway: gatewayScenario,
};
