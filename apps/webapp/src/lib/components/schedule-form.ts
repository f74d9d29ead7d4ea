/**
 * The mission form's schedule fields, as plain functions: the kinds a person picks (daily and
 * weekly are cron schedules under the hood), reading a stored schedule back into those fields,
 * building a schedule from them with a message per bad field, and a label for lists.
 */
import {
  describeSchedule,
  isEngineError,
  TimeZoneSchema,
  validateCron,
  type Schedule,
} from '@baton/engine';
import type { FieldErrors } from '../forms.ts';

export type ScheduleKind = 'interval' | 'daily' | 'weekly' | 'cron' | 'once' | 'manual';

/** What the schedule fields hold, as typed (strings, so a half-typed value is never lost). */
export interface ScheduleFields {
  kind: ScheduleKind;
  /** Interval length in minutes (a number input binds numbers, or null when emptied). */
  everyMinutes: string | number | null;
  /** `HH:MM` for daily and weekly schedules. */
  time: string;
  /** Cron weekdays (0 = Sunday … 6 = Saturday) for weekly schedules. */
  days: number[];
  cronExpr: string;
  /** `YYYY-MM-DDTHH:MM` in this browser's zone, for `once`. */
  onceAt: string;
  /** IANA time zone: cron times are read in it, and the planner is told "now" in it. */
  zone: string;
}

/** Weekdays in the order people read a week (Monday first), with cron's numbers. */
export const weekdays = [
  { value: 1, short: 'Mon', long: 'Monday' },
  { value: 2, short: 'Tue', long: 'Tuesday' },
  { value: 3, short: 'Wed', long: 'Wednesday' },
  { value: 4, short: 'Thu', long: 'Thursday' },
  { value: 5, short: 'Fri', long: 'Friday' },
  { value: 6, short: 'Sat', long: 'Saturday' },
  { value: 0, short: 'Sun', long: 'Sunday' },
] as const;

const dailyPattern = /^(\d{1,2}) (\d{1,2}) \* \* \*$/;
const weeklyPattern = /^(\d{1,2}) (\d{1,2}) \* \* ([0-7](?:,[0-7])*)$/;
const timePattern = /^([01]?\d|2[0-3]):([0-5]\d)$/;

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** Epoch ms as a `datetime-local` value in this browser's zone. */
export function localDateTime(ms: number): string {
  const date = new Date(ms);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A cron expression the daily or weekly fields can show, read back; null for any other. */
function readSimpleCron(
  expr: string,
): { kind: 'daily' | 'weekly'; time: string; days: number[] } | null {
  const daily = dailyPattern.exec(expr);
  if (daily) {
    const [minute, hour] = [Number(daily[1]), Number(daily[2])];
    if (minute > 59 || hour > 23) return null;
    return { kind: 'daily', time: `${pad(hour)}:${pad(minute)}`, days: [] };
  }
  const weekly = weeklyPattern.exec(expr);
  if (weekly) {
    const [minute, hour] = [Number(weekly[1]), Number(weekly[2])];
    if (minute > 59 || hour > 23) return null;
    // Cron also spells Sunday as 7.
    const days = [...new Set(weekly[3]!.split(',').map((day) => Number(day) % 7))];
    return { kind: 'weekly', time: `${pad(hour)}:${pad(minute)}`, days };
  }
  return null;
}

/** The fields for a stored schedule (or the defaults for a new mission). */
export function scheduleFields(options: {
  schedule: Schedule | undefined;
  timeZone: string | undefined;
  localZone: string;
  now: number;
}): ScheduleFields {
  const { schedule } = options;
  const fields: ScheduleFields = {
    kind: 'interval',
    everyMinutes: '60',
    time: '07:30',
    days: [1, 2, 3, 4, 5],
    cronExpr: '30 7 * * 1-5',
    onceAt: localDateTime(options.now + 3_600_000),
    zone: options.timeZone ?? options.localZone,
  };
  if (!schedule) return fields;
  switch (schedule.kind) {
    case 'manual':
      return { ...fields, kind: 'manual' };
    case 'interval':
      return { ...fields, kind: 'interval', everyMinutes: String(schedule.everyMs / 60_000) };
    case 'once':
      return { ...fields, kind: 'once', onceAt: localDateTime(schedule.at) };
    case 'cron': {
      const simple = readSimpleCron(schedule.expr);
      const base = { ...fields, cronExpr: schedule.expr, zone: schedule.tz };
      return simple ? { ...base, ...simple } : { ...base, kind: 'cron' };
    }
  }
}

/** A message when `zone` is not an IANA time zone this runtime knows, else undefined. */
export function timeZoneError(zone: string): string | undefined {
  const trimmed = zone.trim();
  if (trimmed === '') return 'enter a time zone, such as Europe/Berlin or UTC';
  // The engine's own schema, so the form refuses exactly what the worker would.
  if (TimeZoneSchema.safeParse(trimmed).success) return undefined;
  return `unknown time zone “${trimmed}”: use a name such as Europe/Berlin or UTC`;
}

/** Every IANA zone this browser knows, for suggestions (empty where the API is missing). */
export function knownTimeZones(): string[] {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [];
  }
}

export type ScheduleResult =
  { ok: true; schedule: Schedule; timeZone: string } | { ok: false; errors: FieldErrors };

/**
 * Builds the schedule the fields describe. Errors are keyed by field (`everyMinutes`, `time`,
 * `days`, `cronExpr`, `onceAt`, `zone`); every bad field is reported, not only the first.
 * An interval keeps `previous`'s anchor while its length is unchanged, else counts from the
 * current minute. A `once` must lie ahead of `now` unless it is `previous`'s own time.
 */
export function buildSchedule(
  fields: ScheduleFields,
  options: { previous: Schedule | undefined; now: number },
): ScheduleResult {
  const errors: FieldErrors = {};
  const zone = fields.zone.trim();
  const zoneProblem = timeZoneError(zone);
  if (zoneProblem) errors['zone'] = zoneProblem;
  let schedule: Schedule | undefined;
  switch (fields.kind) {
    case 'manual':
      schedule = { kind: 'manual' };
      break;
    case 'interval': {
      const text = String(fields.everyMinutes ?? '').trim();
      const minutes = Number(text);
      if (text === '' || !Number.isInteger(minutes) || minutes < 1)
        errors['everyMinutes'] = 'enter a whole number of minutes, at least 1';
      else if (minutes > 366 * 24 * 60)
        errors['everyMinutes'] = 'at most one year (527040 minutes)';
      else {
        const everyMs = minutes * 60_000;
        const previous = options.previous;
        const anchor =
          previous?.kind === 'interval' && previous.everyMs === everyMs
            ? previous.anchor
            : Math.floor(options.now / 60_000) * 60_000;
        schedule = { kind: 'interval', everyMs, anchor };
      }
      break;
    }
    case 'daily':
    case 'weekly': {
      const time = timePattern.exec(fields.time.trim());
      if (!time) errors['time'] = 'enter a time, such as 07:30';
      const days = [...new Set(fields.days)].sort((a, b) => a - b);
      if (fields.kind === 'weekly' && days.length === 0) errors['days'] = 'pick at least one day';
      if (time && !(fields.kind === 'weekly' && days.length === 0)) {
        const dayPart = fields.kind === 'daily' || days.length === 7 ? '*' : days.join(',');
        schedule = {
          kind: 'cron',
          expr: `${Number(time[2])} ${Number(time[1])} * * ${dayPart}`,
          tz: zone,
        };
      }
      break;
    }
    case 'cron': {
      const expr = fields.cronExpr.trim();
      if (expr === '') errors['cronExpr'] = 'enter a cron expression, such as 30 7 * * 1-5';
      else {
        try {
          // The zone is checked above; a valid stand-in lets the expression be judged alone.
          validateCron(expr, zoneProblem ? 'UTC' : zone);
          schedule = { kind: 'cron', expr, tz: zone };
        } catch (error) {
          if (!isEngineError(error)) throw error;
          // croner repeats the expression and names its own class; people need the rule.
          errors['cronExpr'] = error.message
            .replace('CronPattern: ', '')
            .replace(/invalid configuration format \('.*?'\), /, '');
        }
      }
      break;
    }
    case 'once': {
      const at = fields.onceAt ? new Date(fields.onceAt).getTime() : Number.NaN;
      const previous = options.previous;
      if (!Number.isFinite(at)) errors['onceAt'] = 'enter a date and time';
      else if (at <= options.now && !(previous?.kind === 'once' && previous.at === at))
        errors['onceAt'] = 'pick a time in the future';
      else schedule = { kind: 'once', at };
      break;
    }
  }
  if (Object.keys(errors).length > 0 || !schedule) return { ok: false, errors };
  return { ok: true, schedule, timeZone: zone };
}

function intervalLabel(minutes: number): string {
  const every = (count: number, unit: string) =>
    count === 1 ? `Every ${unit}` : `Every ${count} ${unit}s`;
  if (minutes % 1440 === 0) return every(minutes / 1440, 'day');
  if (minutes % 60 === 0) return every(minutes / 60, 'hour');
  return every(minutes, 'minute');
}

/** A schedule in words for lists: "Weekdays at 07:30 (Europe/Berlin)", "Every 2 hours". */
export function scheduleLabel(schedule: Schedule): string {
  if (schedule.kind === 'once')
    return `Once, ${new Date(schedule.at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`;
  if (schedule.kind === 'interval') return intervalLabel(schedule.everyMs / 60_000);
  if (schedule.kind !== 'cron') return describeSchedule(schedule);
  const simple = readSimpleCron(schedule.expr);
  if (!simple) return `Cron ${schedule.expr} (${schedule.tz})`;
  if (simple.kind === 'daily') return `Daily at ${simple.time} (${schedule.tz})`;
  const sorted = weekdays.filter((day) => simple.days.includes(day.value));
  const names =
    sorted.length === 5 && sorted.every((day) => day.value >= 1 && day.value <= 5)
      ? 'Weekdays'
      : sorted.length === 2 && sorted.every((day) => day.value === 0 || day.value === 6)
        ? 'Weekends'
        : sorted.map((day) => day.short).join(', ');
  return `${names} at ${simple.time} (${schedule.tz})`;
}
