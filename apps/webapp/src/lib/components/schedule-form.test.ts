import { describe, expect, it } from 'vitest';
import {
  buildSchedule,
  scheduleFields,
  scheduleLabel,
  type ScheduleFields,
} from './schedule-form.ts';

const now = Date.UTC(2026, 2, 2, 9, 15, 30);
const base = scheduleFields({
  schedule: undefined,
  timeZone: 'Europe/Berlin',
  localZone: 'UTC',
  now,
});
const fields = (patch: Partial<ScheduleFields>): ScheduleFields => ({ ...base, ...patch });

describe('buildSchedule', () => {
  it('turns weekdays and a time into a cron schedule in the chosen zone, and reads it back', () => {
    const built = buildSchedule(fields({ kind: 'weekly', days: [5, 1, 3], time: '07:30' }), {
      previous: undefined,
      now,
    });
    expect(built).toEqual({
      ok: true,
      schedule: { kind: 'cron', expr: '30 7 * * 1,3,5', tz: 'Europe/Berlin' },
      timeZone: 'Europe/Berlin',
    });
    if (!built.ok) return;
    const back = scheduleFields({
      schedule: built.schedule,
      timeZone: 'Europe/Berlin',
      localZone: 'UTC',
      now,
    });
    expect([back.kind, back.time, [...back.days].sort()]).toEqual(['weekly', '07:30', [1, 3, 5]]);
  });

  it('treats every day of the week as daily, and reads daily back', () => {
    const built = buildSchedule(
      fields({ kind: 'weekly', days: [0, 1, 2, 3, 4, 5, 6], time: '18:05' }),
      {
        previous: undefined,
        now,
      },
    );
    expect(built.ok && built.schedule).toEqual({
      kind: 'cron',
      expr: '5 18 * * *',
      tz: 'Europe/Berlin',
    });
    if (!built.ok) return;
    const back = scheduleFields({
      schedule: built.schedule,
      timeZone: undefined,
      localZone: 'UTC',
      now,
    });
    expect([back.kind, back.time, back.zone]).toEqual(['daily', '18:05', 'Europe/Berlin']);
  });

  it('refuses an unknown time zone for every kind, next to the zone field', () => {
    for (const kind of ['interval', 'daily', 'weekly', 'once', 'manual', 'cron'] as const) {
      const built = buildSchedule(
        fields({ kind, zone: 'Mars/Olympus', onceAt: '2030-01-01T08:00' }),
        {
          previous: undefined,
          now,
        },
      );
      expect(built.ok ? {} : built.errors, kind).toEqual({
        zone: 'unknown time zone “Mars/Olympus”: use a name such as Europe/Berlin or UTC',
      });
    }
  });

  it('names each bad field: no weekday, no time, a bad cron, a past or missing date', () => {
    const check = (patch: Partial<ScheduleFields>) => {
      const built = buildSchedule(fields(patch), { previous: undefined, now });
      return built.ok ? {} : built.errors;
    };
    expect(check({ kind: 'weekly', days: [], time: '' })).toEqual({
      days: 'pick at least one day',
      time: 'enter a time, such as 07:30',
    });
    expect(check({ kind: 'cron', cronExpr: '0 9 * *' })['cronExpr']).toBe(
      'invalid cron expression "0 9 * *": has 4 parts; a cron expression has five: minute hour ' +
        'day-of-month month weekday, such as 30 7 * * 1-5 (a seconds field first and a year last ' +
        'are allowed too)',
    );
    expect(check({ kind: 'once', onceAt: '2020-01-01T08:00' })).toEqual({
      onceAt: 'pick a time in the future',
    });
    expect(check({ kind: 'once', onceAt: '' })).toEqual({ onceAt: 'enter a date and time' });
    expect(check({ kind: 'interval', everyMinutes: '1.5' })).toEqual({
      everyMinutes: 'enter a whole number of minutes, at least 1',
    });
  });

  it('refuses a cron that fires more than once a minute next to the cron field, and keeps fixed seconds', () => {
    const built = (cronExpr: string) =>
      buildSchedule(fields({ kind: 'cron', cronExpr }), { previous: undefined, now });
    expect(built('* * * * * *')).toEqual({
      ok: false,
      errors: {
        cronExpr:
          'invalid cron expression "* * * * * *": fires more than once a minute (60 times in each ' +
          'matching minute); slots must be at least one minute apart, so give the seconds field ' +
          'one value, or use five fields',
      },
    });
    for (const cronExpr of ['*/1 * * * *', '0 7 * * 1-5', '0 */5 * * * *'])
      expect(built(cronExpr), cronExpr).toMatchObject({
        ok: true,
        schedule: { kind: 'cron', expr: cronExpr },
      });
  });

  it('keeps an interval’s anchor while its length is unchanged, else counts from this minute', () => {
    const previous = { kind: 'interval' as const, everyMs: 3_600_000, anchor: 1_000 };
    const same = buildSchedule(fields({ kind: 'interval', everyMinutes: '60' }), { previous, now });
    const longer = buildSchedule(fields({ kind: 'interval', everyMinutes: 90 }), {
      previous,
      now,
    });
    expect(same.ok && same.schedule).toEqual(previous);
    expect(longer.ok && longer.schedule).toEqual({
      kind: 'interval',
      everyMs: 5_400_000,
      anchor: Date.UTC(2026, 2, 2, 9, 15),
    });
  });
});

describe('scheduleLabel', () => {
  it('says weekly and daily schedules in words', () => {
    const label = (expr: string) => scheduleLabel({ kind: 'cron', expr, tz: 'Europe/Berlin' });
    expect(label('30 7 * * 1,2,3,4,5')).toBe('Weekdays at 07:30 (Europe/Berlin)');
    expect(label('0 10 * * 0,6')).toBe('Weekends at 10:00 (Europe/Berlin)');
    expect(label('0 9 * * 1,4')).toBe('Mon, Thu at 09:00 (Europe/Berlin)');
    expect(label('15 6 * * *')).toBe('Daily at 06:15 (Europe/Berlin)');
    expect(label('*/5 9-17 * * 1-5')).toBe('Cron */5 9-17 * * 1-5 (Europe/Berlin)');
    const every = (minutes: number) =>
      scheduleLabel({ kind: 'interval', everyMs: minutes * 60_000, anchor: 0 });
    expect([every(60), every(120), every(30), every(1), every(1440)]).toEqual([
      'Every hour',
      'Every 2 hours',
      'Every 30 minutes',
      'Every minute',
      'Every day',
    ]);
  });
});
