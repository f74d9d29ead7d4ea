import { Cron } from 'croner';
import { EngineError } from '../errors.ts';
import type { Schedule } from '../model/schedule.ts';
import { cronProblem, isTimeZone } from './zones.ts';

/** The iteration id of a mission's slot: a pure function of (mission, slot). */
export function iterationIdOf(missionId: string, slotMs: number): string {
  return `${missionId}@${new Date(slotMs).toISOString()}`;
}

export function proposalIdOf(iterationId: string, stepIndex: number): string {
  return `${iterationId}#${stepIndex}`;
}

/** Throws EngineError('invalid', field 'schedule.expr') when a cron expression or zone is unusable. */
export function validateCron(expr: string, tz: string): void {
  if (!isTimeZone(tz))
    throw new EngineError('invalid', `unknown time zone: ${tz}`, { field: 'schedule.tz' });
  const problem = cronProblem(expr, tz);
  if (problem)
    throw new EngineError('invalid', `invalid cron expression "${expr}": ${problem}`, {
      field: 'schedule.expr',
    });
}

type CronSchedule = Extract<Schedule, { kind: 'cron' }>;

/** Parsed patterns by (expr, zone): a paused Cron holds no timer, so one serves every call. */
const crons = new Map<string, Cron>();
/** Answers of `nextRun` by (expr, zone, after): every tick of every replica asks the same ones. */
const nextRuns = new Map<string, number | undefined>();
const memoLimit = 20_000;

function cronOf(schedule: CronSchedule): Cron {
  const key = `${schedule.tz}\u0000${schedule.expr}`;
  let cron = crons.get(key);
  if (!cron) {
    if (crons.size >= 1_000) crons.clear();
    cron = new Cron(schedule.expr, { timezone: schedule.tz, paused: true });
    crons.set(key, cron);
  }
  return cron;
}

/** The first run of a cron schedule strictly after `afterMs` (memoised; croner is costly). */
function cronNext(schedule: CronSchedule, afterMs: number): number | undefined {
  const key = `${schedule.tz}\u0000${schedule.expr}\u0000${afterMs}`;
  if (nextRuns.has(key)) return nextRuns.get(key);
  const next = cronOf(schedule).nextRun(new Date(afterMs))?.getTime();
  if (nextRuns.size >= memoLimit) nextRuns.clear();
  nextRuns.set(key, next);
  return next;
}

/**
 * The first slot strictly after `afterMs`, or undefined when there is none (manual schedules,
 * a `once` in the past). Depends only on the schedule, so every replica agrees.
 */
export function nextSlot(schedule: Schedule, afterMs: number): number | undefined {
  switch (schedule.kind) {
    case 'manual':
      return undefined;
    case 'once':
      return schedule.at > afterMs ? schedule.at : undefined;
    case 'interval': {
      const steps = Math.floor((afterMs - schedule.anchor) / schedule.everyMs) + 1;
      return schedule.anchor + steps * schedule.everyMs;
    }
    case 'cron':
      return cronNext(schedule, afterMs);
  }
}

/**
 * Slots in the half-open window (fromMs, toMs], oldest first, at most `limit` of the newest.
 */
export function slotsBetween(
  schedule: Schedule,
  fromMs: number,
  toMs: number,
  limit: number,
): number[] {
  if (toMs <= fromMs || limit <= 0) return [];
  if (schedule.kind === 'interval') {
    const last =
      schedule.anchor + Math.floor((toMs - schedule.anchor) / schedule.everyMs) * schedule.everyMs;
    const slots: number[] = [];
    for (let slot = last; slot > fromMs && slots.length < limit; slot -= schedule.everyMs)
      slots.push(slot);
    return slots.reverse();
  }
  if (schedule.kind === 'cron') {
    // nextRun is the one definition of a cron slot. Walking from the window's start costs one
    // step per slot, which grows without bound for an old mission (a 5-minute cron created a
    // year ago: 100k steps per tick); so when the window holds more than `limit` slots, the walk
    // restarts just before the oldest of the newest `limit + 1` runs, found backwards.
    const lowest = Math.max(fromMs, toMs - limit * 366 * 24 * 3_600_000);
    const walk = (from: number, maxSteps: number) => {
      const slots: number[] = [];
      for (let cursor = from; slots.length < maxSteps;) {
        const next = cronNext(schedule, cursor);
        if (next === undefined || next > toMs) return { slots, complete: true };
        slots.push(next);
        cursor = next;
      }
      return { slots, complete: false };
    };
    let result = walk(lowest, limit + 1);
    if (!result.complete) {
      const previous = cronOf(schedule).previousRuns(limit + 1, new Date(toMs + 1));
      const restart = previous.length > limit ? previous.at(-1)!.getTime() - 1 : lowest;
      result = walk(Math.max(lowest, restart), Infinity);
    }
    return result.slots.slice(-limit);
  }
  const slots: number[] = [];
  for (let cursor = fromMs; ;) {
    const next = nextSlot(schedule, cursor);
    if (next === undefined || next > toMs) break;
    slots.push(next);
    cursor = next;
  }
  return slots.slice(-limit);
}

/** A short human description of a schedule, for lists. */
export function describeSchedule(schedule: Schedule): string {
  switch (schedule.kind) {
    case 'manual':
      return 'Manual (run now only)';
    case 'once':
      return `Once at ${new Date(schedule.at).toISOString().replace('.000Z', 'Z')}`;
    case 'interval': {
      const minutes = schedule.everyMs / 60_000;
      if (minutes % 1440 === 0) return `Every ${minutes / 1440} day${minutes === 1440 ? '' : 's'}`;
      if (minutes % 60 === 0) return `Every ${minutes / 60} hour${minutes === 60 ? '' : 's'}`;
      return `Every ${minutes} minute${minutes === 1 ? '' : 's'}`;
    }
    case 'cron':
      return `Cron "${schedule.expr}" (${schedule.tz})`;
  }
}
