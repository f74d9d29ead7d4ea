/**
 * Shrinks a failing scenario by delta debugging over its events: removes chunks of events while
 * the history still breaks the same invariant, down to a list where no single event can go.
 */
import { runHistory, type HistoryResult } from './history.ts';
import type { Scenario } from './scenario.ts';

export async function shrinkScenario(options: {
  scenario: Scenario;
  invariant: string;
  /** Stops after this many replays. */
  maxRuns?: number;
}): Promise<{ scenario: Scenario; result: HistoryResult; runs: number }> {
  const fails = async (candidate: Scenario) => {
    const result = await runHistory(candidate);
    return result.violations.some((violation) => violation.invariant === options.invariant)
      ? result
      : undefined;
  };
  let best = options.scenario;
  let bestResult = await fails(best);
  if (!bestResult)
    throw new Error(`seed ${options.scenario.seed} does not break ${options.invariant}`);
  let runs = 1;
  const maxRuns = options.maxRuns ?? 300;
  let chunk = Math.max(1, Math.floor(best.events.length / 2));
  while (chunk >= 1 && runs < maxRuns) {
    let removed = false;
    for (let start = 0; start < best.events.length && runs < maxRuns; start += chunk) {
      const candidate = {
        ...best,
        events: [...best.events.slice(0, start), ...best.events.slice(start + chunk)],
      };
      runs += 1;
      const result = await fails(candidate);
      if (result) {
        best = candidate;
        bestResult = result;
        removed = true;
        start -= chunk;
      }
    }
    if (!removed) chunk = Math.floor(chunk / 2);
  }
  return { scenario: best, result: bestResult, runs };
}
