import { EngineError } from '../errors.ts';
import type { Change } from './change.ts';
import { hlcWallMs, maxDriftMs } from './hlc.ts';

/**
 * The relay's check of pushed stamps (design §3): a change stamped more than `maxDriftMs` ahead
 * of the relay's clock is refused, naming it (`changes.<i>.hlc`), with how far ahead it is and
 * how long until it is accepted: a device whose clock was set right since still holds stamps
 * from before (its HLC never goes back), and they wait until the relay's clock gets there.
 * What the relay accepts, every replica applies, so this is the one place the drift is judged.
 */
export function pushStampProblem(changes: readonly Change[], now: number): EngineError | undefined {
  const index = changes.findIndex((change) => hlcWallMs(change.hlc) > now + maxDriftMs);
  if (index < 0) return undefined;
  const ahead = hlcWallMs((changes[index] as Change).hlc) - now;
  const wait = minutesUp(ahead - maxDriftMs);
  return new EngineError(
    'clock',
    `changes.${index}.hlc: stamped ${minutesUp(ahead)} minutes ahead of the relay's clock, which accepts ${maxDriftMs / 60_000} at most; it can be sent in about ${wait} minute${wait === 1 ? '' : 's'}. Check this device's date and time.`,
    { field: `changes.${index}.hlc` },
  );
}

/** Whole minutes, rounded up: a stamp 10 minutes and a second ahead is 11 minutes ahead. */
function minutesUp(ms: number): number {
  return Math.max(1, Math.ceil(ms / 60_000));
}
