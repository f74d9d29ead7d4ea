import { EngineError } from '../errors.ts';
import type { Change } from './change.ts';
import { hlcWallMs, maxDriftMs } from './hlc.ts';

/**
 * The relay's check of pushed stamps (design §3): a change stamped more than `maxDriftMs` ahead
 * of the relay's clock is refused, naming it (`changes.<i>.hlc`). What the relay accepts, every
 * replica applies, so this is the one place the drift is judged.
 */
export function pushStampProblem(changes: readonly Change[], now: number): EngineError | undefined {
  const index = changes.findIndex((change) => hlcWallMs(change.hlc) > now + maxDriftMs);
  if (index < 0) return undefined;
  return new EngineError(
    'clock',
    `changes.${index}.hlc: the stamp is more than 10 minutes ahead of the relay's clock; check this device's clock.`,
    { field: `changes.${index}.hlc` },
  );
}
