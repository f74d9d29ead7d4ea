import { hlcWallMs, isHlcStamp } from '../sync/hlc.ts';
import type { StoredRow } from '../sync/merge.ts';

/**
 * The fields of a mission whose last write restarts its slots: its creation, an edit of when it
 * runs (`schedule`) or of how missed runs are handled (`catchUp`), and a change of `state`
 * (resuming a paused mission).
 */
const restartingFields = ['_createdBy', 'schedule', 'catchUp', 'state'] as const;

/**
 * Where a mission's slots start, as an exclusive bound in epoch ms (`dueSlots`' `since`,
 * `nextSlot`'s `afterMs`): only slots strictly after it are recorded or planned. It is the
 * newest of the mission's creation and the last write of its `schedule`, `catchUp` or `state`
 * (the wall time of each field's HLC stamp). Hence:
 * - an edited schedule starts after the edit (design §2): a 30-day-old mission made hourly
 *   neither skips nor plans the hours before the edit;
 * - a catch-up edit applies to slots missed after it, never to older ones (widening it must
 *   not plan a backlog at once);
 * - a resumed mission starts at its next slot: the slots it was paused for are not caught up
 *   nor recorded as skipped (a paused mission is not expected to run, or to fill its timeline).
 * Needs the stored row (the stamps): `readRow` drops them. Writers must write these fields
 * only when their value changes (`updateMission` does), or any edit would restart the slots.
 * Pure; every runner (engine tick, the relay's due index) uses this one rule.
 */
export function scheduleSince(mission: StoredRow): number {
  let start = 0;
  for (const field of restartingFields) {
    const stamp = mission.stamps[field];
    if (isHlcStamp(stamp)) start = Math.max(start, hlcWallMs(stamp));
  }
  return start;
}
