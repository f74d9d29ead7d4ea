import { stampMs } from '../format.ts';
import type { IterationRow } from '../queries.ts';

/** When this page opened (epoch ms): the end of the "while you were away" window. */
export const pageOpenedAt = Date.now();

/**
 * Whether the relay planned `iteration` while no tab of this browser was open: after the last
 * time this browser was seen (`lastSeenAt`, read once as the page opened; null on a first visit)
 * and before this page opened. Runs the relay plans while a tab is open are not "away".
 */
export function plannedWhileAway(iteration: IterationRow, lastSeenAt: number | null): boolean {
  if (lastSeenAt === null || iteration.runner.kind !== 'relay') return false;
  const plannedMs = stampMs(iteration.plannedAt);
  return plannedMs > lastSeenAt && plannedMs <= pageOpenedAt;
}
