import type { Iteration } from '../model/iteration.ts';
import type { CatchUp } from '../model/schedule.ts';
import { hlcWallMs } from '../sync/hlc.ts';

/**
 * Error codes of a failure worth planning again: the model could not be reached, timed out or
 * said it was overloaded (the model adapters report 408, 429 and 5xx as `unavailable`). Every
 * other code is permanent: `no_model`, `model` (a refused request), `bad_answer`,
 * `empty_answer`, `unauthorized`, and `budget` (a run stopped before a model round its mission's
 * budget had no room for: the mission is paused).
 */
export const transientErrorCodes: readonly string[] = ['unavailable'];

/** Attempts of one slot at most, the first included. */
export const maxAttempts = 5;

const firstBackoffMs = 60_000;
const maxBackoffMs = 15 * 60_000;

/** How long after its `attempts`-th failure a slot is tried again: 1 min, doubling, at most 15. */
export function retryBackoffMs(attempts: number): number {
  return Math.min(firstBackoffMs * 2 ** Math.max(0, attempts - 1), maxBackoffMs);
}

/** The fields of an iteration the retry rule reads. */
export type RetryFields = Pick<
  Iteration,
  'status' | 'trigger' | 'slot' | 'plannedAt' | 'error' | 'attempts'
>;

/**
 * When a failed iteration's slot is due again (epoch ms), or undefined when it never is. Only
 * a scheduled slot (a manual run is the person's to repeat) that failed with a transient code
 * (`transientErrorCodes`) after fewer than `maxAttempts` attempts is retried, `retryBackoffMs`
 * after the failure was written (the wall time of `plannedAt`), and only if that is within the
 * slot's lateness window (`catchUp.maxLateMs` after the slot). Never before the slot itself: a
 * runner whose clock ran ahead can fail a slot early, and its retry waits for the slot's time.
 * Pure: every runner, and the relay's due index, use this one rule.
 */
export function nextRetryAt(options: {
  iteration: RetryFields;
  catchUp: CatchUp;
}): number | undefined {
  const { iteration, catchUp } = options;
  if (iteration.status !== 'failed' || iteration.trigger !== 'schedule') return undefined;
  if (!iteration.error || !transientErrorCodes.includes(iteration.error.code)) return undefined;
  if (iteration.attempts >= maxAttempts) return undefined;
  const slot = Date.parse(iteration.slot);
  const at = Math.max(slot, hlcWallMs(iteration.plannedAt) + retryBackoffMs(iteration.attempts));
  return at - slot <= catchUp.maxLateMs ? at : undefined;
}

/**
 * Is a failed iteration's slot due again at `now`: planned anew under the same iteration id,
 * as attempt `attempts + 1`? True from `nextRetryAt` until the slot is `catchUp.maxLateMs`
 * late. Whether a newer slot makes the retry moot is the catch-up's call (`dueSlots`).
 */
export function retryDue(options: {
  iteration: RetryFields;
  catchUp: CatchUp;
  now: number;
}): boolean {
  const at = nextRetryAt(options);
  return (
    at !== undefined &&
    options.now >= at &&
    options.now - Date.parse(options.iteration.slot) <= options.catchUp.maxLateMs
  );
}
