import { EngineError } from '../errors.ts';
import type { RowOf } from '../model/read-row.ts';
import type { StoreReader } from '../ports.ts';
import { budgetBlock } from './budget.ts';

/**
 * Throws when the person may not run a mission by hand ("run now" or a dry run) at `now`:
 * EngineError('conflict') for a mission that is done or archived, EngineError('budget') with
 * the reason when its budget would be passed. A paused mission may be run by hand.
 */
export async function assertManualRunAllowed(options: {
  reader: StoreReader;
  mission: RowOf<'missions'>;
  now: number;
}): Promise<void> {
  const { mission } = options;
  if (mission.state === 'done' || mission.state === 'archived')
    throw new EngineError(
      'conflict',
      `"${mission.title}" is ${mission.state}: set it to active or paused to run it.`,
    );
  const block = budgetBlock({
    mission,
    iterations: await options.reader.list('iterations', {
      field: 'missionId',
      equals: mission.id,
    }),
    now: options.now,
  });
  if (block) throw new EngineError('budget', `Not run: ${block}`);
}
