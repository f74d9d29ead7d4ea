import type { MissionRow } from './queries.ts';
import { runNowGate, type RunNowGate } from './run-now-gate.ts';
import { engineStatus } from './status.svelte.ts';

/**
 * Whether this device may run a mission by hand now (Run now, Dry run, Retry of a failed run),
 * from the mission's `runOn` and the engine status. Reactive where it is read (the status is
 * state): a page reads it once per mission and hands the result to every button and to the
 * note that says why they are off, so they never disagree.
 */
export function missionGate(mission: Pick<MissionRow, 'runOn'>): RunNowGate {
  const status = engineStatus().current;
  return runNowGate({
    runOn: mission.runOn,
    connection: status?.connection,
    deviceModel: status?.deviceModel,
  });
}
