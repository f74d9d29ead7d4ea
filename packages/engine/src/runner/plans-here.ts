/**
 * Which due missions the relay plans (design §2): always `runOn: relay`; `runOn: any` when the
 * user has no capable device connected, or when the slot is overdue by more than the grace
 * period (a frozen tab must not starve a mission); `runOn: device` never.
 */
import type { RowOf } from '../model/read-row.ts';
import { slotsBetween } from '../schedule/slots.ts';

/** What the relay's due index knows of a mission: enough to pre-filter before reading it. */
export interface DueCandidate {
  missionId: string;
  runOn: string;
  /** Epoch ms of the oldest unplanned slot. */
  nextSlotAt: number;
}

/**
 * Candidates among one user's due entries: a cheap pre-filter on the index (its `nextSlotAt`
 * is the oldest unplanned slot, so "overdue" here is a superset of `plansHere`).
 */
export function missionsToPlan(options: {
  entries: readonly DueCandidate[];
  covered: boolean;
  now: number;
  graceMs: number;
}): Set<string> {
  return new Set(
    options.entries
      .filter(
        (entry) =>
          entry.runOn === 'relay' ||
          !options.covered ||
          options.now - entry.nextSlotAt > options.graceMs,
      )
      .map((entry) => entry.missionId),
  );
}

/**
 * Does this instance plan the mission now? Always for `runOn: relay`; for `any` when the user
 * is not covered, or when the newest slot due now is older than `graceMs` (the device that
 * should have planned it is frozen or stuck). `since` is where the mission's slots start, as
 * the engine's tick gives it (`scheduleSince`).
 */
export function plansHere(options: {
  mission: RowOf<'missions'>;
  since: number;
  covered: boolean;
  now: number;
  graceMs: number;
}): boolean {
  const { mission, now } = options;
  if (mission.runOn === 'relay' || !options.covered) return true;
  const [newest] = slotsBetween(mission.schedule, options.since, now, 1);
  return newest !== undefined && now - newest > options.graceMs;
}
