import type { CatchUp, Schedule } from '../model/schedule.ts';
import { iterationIdOf, slotsBetween } from './slots.ts';

/** How many past slots a catch-up looks at; older ones are neither planned nor recorded. */
export const catchUpWindowSlots = 50;
/** A slot this close to now is on time, not missed. */
export const onTimeMs = 5 * 60_000;

export interface DueSlots {
  /** Slots to plan now, oldest first. */
  plan: number[];
  /** Missed slots to record as `skipped` without a model call. */
  skip: number[];
}

/**
 * Which slots of a mission are due at `now`, given the iteration ids that already exist.
 * A slot is due when slot <= now and no iteration with its id exists. `since` (exclusive) bounds
 * the past (`scheduleSince`: the mission's creation or the last edit of when it runs): slots
 * before it never count. Catch-up: `latest` plans the newest missed slot and skips older ones,
 * `all` plans each, `none` skips every missed slot; a slot later than `maxLateMs` is skipped
 * whatever the mode. `retry` holds existing ids of failed iterations whose retry is due
 * (`retryDue`): each is planned again when it is the newest slot so far, or under `all`, and
 * never skipped (its failure stays on record until a retry replaces it).
 */
export function dueSlots(options: {
  missionId: string;
  schedule: Schedule;
  catchUp: CatchUp;
  since: number;
  now: number;
  existing: ReadonlySet<string>;
  retry?: ReadonlySet<string> | undefined;
}): DueSlots {
  const { missionId, schedule, catchUp, since, now, existing } = options;
  const slots = slotsBetween(schedule, since, now, catchUpWindowSlots);
  const candidates = slots.filter((slot) => !existing.has(iterationIdOf(missionId, slot)));
  const plan: number[] = [];
  const skip: number[] = [];
  candidates.forEach((slot, index) => {
    const late = now - slot;
    const newest = index === candidates.length - 1;
    if (late > catchUp.maxLateMs) skip.push(slot);
    else if (late <= onTimeMs && newest) plan.push(slot);
    else if (catchUp.mode === 'all' || (catchUp.mode === 'latest' && newest)) plan.push(slot);
    else skip.push(slot);
  });
  const retried = slots.filter(
    (slot, index) =>
      options.retry?.has(iterationIdOf(missionId, slot)) &&
      (catchUp.mode === 'all' || index === slots.length - 1),
  );
  return { plan: [...plan, ...retried].sort((a, b) => a - b), skip };
}
