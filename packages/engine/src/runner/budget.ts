import type { RowOf } from '../model/read-row.ts';
import { hlcWallMs } from '../sync/hlc.ts';

const dayMs = 24 * 3_600_000;

/**
 * Why a mission may not run another iteration now, or undefined. Counts the iterations that
 * called the model in the 24 hours before `now` (a rolling day), and their tokens.
 */
export function budgetBlock(
  mission: RowOf<'missions'>,
  iterations: RowOf<'iterations'>[],
  now: number,
): string | undefined {
  const recent = iterations.filter(
    (iteration) => iteration.status !== 'skipped' && now - hlcWallMs(iteration.plannedAt) < dayMs,
  );
  const tokens = recent.reduce(
    (sum, iteration) =>
      sum + (iteration.usage ? iteration.usage.promptTokens + iteration.usage.completionTokens : 0),
    0,
  );
  if (recent.length >= mission.budget.maxRunsPerDay) {
    return `Paused: ${recent.length} runs in the last 24 hours reached the budget of ${mission.budget.maxRunsPerDay} runs per day.`;
  }
  if (tokens >= mission.budget.maxTokensPerDay) {
    return `Paused: ${tokens} tokens in the last 24 hours reached the budget of ${mission.budget.maxTokensPerDay} tokens per day.`;
  }
  return undefined;
}
