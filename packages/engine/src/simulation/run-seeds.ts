/** Runs seeded histories and reports each failing seed with its first violations. */
import { runHistory, type HistoryResult } from './history.ts';
import { generateScenario } from './scenario.ts';

export interface SeedFailure {
  seed: number;
  result: HistoryResult;
}

export async function runSeeds(options: {
  from: number;
  count: number;
  onFailure?: (failure: SeedFailure) => void;
  /** Stops after this many failing seeds. */
  maxFailures?: number;
}): Promise<{ failures: SeedFailure[]; histories: number; ms: number }> {
  const started = performance.now();
  const failures: SeedFailure[] = [];
  let histories = 0;
  for (let seed = options.from; seed < options.from + options.count; seed += 1) {
    const result = await runHistory(generateScenario(seed));
    histories += 1;
    if (result.violations.length > 0) {
      const failure = { seed, result };
      failures.push(failure);
      options.onFailure?.(failure);
      if (failures.length >= (options.maxFailures ?? Infinity)) break;
    }
  }
  return { failures, histories, ms: performance.now() - started };
}
