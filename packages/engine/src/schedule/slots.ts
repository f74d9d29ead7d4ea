import { Cron } from 'croner';
import { EngineError } from '../errors.ts';
import type { Schedule } from '../model/schedule.ts';

/** The iteration id of a mission's slot: a pure function of (mission, slot). */
export function iterationIdOf(missionId: string, slotMs: number): string {
  return `${missionId}@${new Date(slotMs).toISOString()}`;
}

export function proposalIdOf(iterationId: string, stepIndex: number): string {
  return `${iterationId}#${stepIndex}`;
}

/** Throws EngineError('invalid', field 'schedule.expr') when a cron expression or zone is unusable. */
export function validateCron(expr: string, tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new EngineError('invalid', `unknown time zone: ${tz}`, { field: 'schedule.tz' });
  }
  try {
    const cron = new Cron(expr, { timezone: tz, paused: true });
    cron.stop();
  } catch (error) {
    throw new EngineError(
      'invalid',
      `invalid cron expression "${expr}": ${(error as Error).message}`,
      { field: 'schedule.expr' },
    );
  }
}

function cronOf(schedule: Extract<Schedule, { kind: 'cron' }>): Cron {
  return new Cron(schedule.expr, { timezone: schedule.tz, paused: true });
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
    case 'cron': {
      const cron = cronOf(schedule);
      const next = cron.nextRun(new Date(afterMs));
      cron.stop();
      return next ? next.getTime() : undefined;
    }
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
    // Walk forward from the start of the part of the window we keep; cron slots are sparse
    // enough (at most one a minute) that a bounded walk is cheap.
    const slots: number[] = [];
    const cron = cronOf(schedule);
    let cursor = Math.max(fromMs, toMs - limit * 366 * 24 * 3_600_000);
    for (;;) {
      const next = cron.nextRun(new Date(cursor));
      if (!next || next.getTime() > toMs) break;
      slots.push(next.getTime());
      if (slots.length > limit) slots.shift();
      cursor = next.getTime();
    }
    cron.stop();
    return slots;
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
