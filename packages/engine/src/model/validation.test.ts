import { describe, expect, it } from 'vitest';
import { createEngine } from '../engine.ts';
import { createFixedClock, createSequentialIds } from '../testing/fixed-clock.ts';
import { createMemoryStore } from '../testing/memory-store.ts';
import { MissionSchema } from './mission.ts';
import { ScheduleSchema } from './schedule.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const stamp = '001795545100000-000003-dev_b';
const actor = { kind: 'user', deviceId: 'dev_b' } as const;

function replica() {
  const store = createMemoryStore();
  const engine = createEngine({
    store,
    clock: createFixedClock(start),
    ids: createSequentialIds(),
    nodeId: 'dev_a',
    runner: { kind: 'device', deviceId: 'dev_a' },
  });
  return { store, engine };
}

function change(id: string, table: string, rowId: string, fields: Record<string, unknown>) {
  return { id, table, rowId, fields, hlc: stamp, actor, deviceId: 'dev_b' };
}

describe('schedules and zones are checked by the schema itself', () => {
  it('refuses a bad cron expression or an unknown zone, naming the field', () => {
    const problems = (value: unknown) =>
      ScheduleSchema.safeParse(value).error?.issues.map((issue) => [
        issue.path.join('.'),
        issue.message,
      ]);
    expect(problems({ kind: 'cron', expr: '0 9 * * 1-5', tz: 'Europe/Berlin' })).toBeUndefined();
    expect(problems({ kind: 'cron', expr: '0 25 * * *', tz: 'UTC' })).toEqual([
      ['expr', expect.stringMatching(/^invalid cron expression "0 25 \* \* \*": /)],
    ]);
    expect(problems({ kind: 'cron', expr: '0 9 * * *', tz: 'Europe/Atlantis' })).toEqual([
      ['tz', 'unknown time zone: Europe/Atlantis'],
    ]);
    expect(
      MissionSchema.safeParse({
        title: 't',
        objective: 'o',
        schedule: { kind: 'manual' },
        timeZone: 'Mars/Olympus_Mons',
      }).error?.issues[0],
    ).toMatchObject({ path: ['timeZone'], message: 'unknown time zone: Mars/Olympus_Mons' });
  });

  it('refuses a cron that fires more than once a minute, as it refuses an interval under a minute', async () => {
    const exprProblem = (expr: string) =>
      ScheduleSchema.safeParse({ kind: 'cron', expr, tz: 'Europe/Berlin' }).error?.issues.map(
        (issue) => [issue.path.join('.'), issue.message],
      );
    for (const expr of ['* * * * * *', '*/30 * * * * *', '0,59 * * * * *', '* 0 7 * * 1-5']) {
      expect(exprProblem(expr), expr).toEqual([
        ['expr', expect.stringMatching(/fires more than once a minute/)],
      ]);
    }
    for (const expr of ['*/1 * * * *', '* * * * *', '0 7 * * 1-5', '0 */5 * * * *', '@hourly'])
      expect(exprProblem(expr), expr).toBeUndefined();
    expect(ScheduleSchema.safeParse({ kind: 'interval', everyMs: 59_999, anchor: 0 }).success).toBe(
      false,
    );

    const { engine } = replica();
    await expect(
      engine.createMission({
        draft: {
          title: 't',
          objective: 'o',
          schedule: { kind: 'cron', expr: '* * * * * *', tz: 'UTC' },
        },
        actor,
      }),
    ).rejects.toMatchObject({
      kind: 'invalid',
      field: 'schedule.expr',
      message: expect.stringMatching(/fires more than once a minute/),
    });
  });

  it('asks for five cron parts, as the form hints, and still takes a seconds field or a year', () => {
    const exprProblem = (expr: string) =>
      ScheduleSchema.safeParse({ kind: 'cron', expr, tz: 'UTC' }).error?.issues[0]?.message;
    expect(exprProblem('0 9 * *')).toBe(
      'invalid cron expression "0 9 * *": has 4 parts; a cron expression has five: minute hour ' +
        'day-of-month month weekday, such as 30 7 * * 1-5 (a seconds field first and a year last ' +
        'are allowed too)',
    );
    expect(exprProblem('0 0 9 * * 1 2030 5')).toMatch(/has 8 parts; a cron expression has five/);
    expect(exprProblem('')).toBe('cron expression is required');
    for (const expr of ['30 7 * * 1-5', '0 30 7 * * 1-5', '0 30 7 * * 1-5 2030'])
      expect(exprProblem(expr), expr).toBeUndefined();
  });

  it('refuses a synced mission with an unusable schedule on arrival, so no tick ever trips on it', async () => {
    const { engine, store } = replica();
    const base = { title: 'Synced', objective: 'o', state: 'active' };
    const report = await engine.applyRemote([
      change('01J00000000000000000000001', 'missions', 'm_bad_cron', {
        ...base,
        schedule: { kind: 'cron', expr: 'every morning', tz: 'UTC' },
      }),
      change('01J00000000000000000000002', 'missions', 'm_bad_zone', {
        ...base,
        schedule: { kind: 'manual' },
        timeZone: 'Nowhere/Land',
      }),
      change('01J00000000000000000000003', 'missions', 'm_good', {
        ...base,
        schedule: { kind: 'cron', expr: '30 7 * * *', tz: 'Asia/Kolkata' },
      }),
    ]);
    expect(report.applied).toBe(1);
    expect(report.refused).toEqual([
      {
        id: '01J00000000000000000000001',
        message: expect.stringMatching(/^fields\.schedule\.expr: invalid cron expression/),
      },
      {
        id: '01J00000000000000000000002',
        message: 'fields.timeZone: unknown time zone: Nowhere/Land',
      },
    ]);
    expect((await store.list('missions')).map((row) => row.id)).toEqual(['m_good']);
  });

  it('refuses a mission with an unknown zone from a form, naming the field', async () => {
    const { engine } = replica();
    await expect(
      engine.createMission({
        draft: { title: 't', objective: 'o', schedule: { kind: 'manual' }, timeZone: 'Berlin' },
        actor,
      }),
    ).rejects.toMatchObject({ kind: 'invalid', field: 'timeZone' });
  });
});

describe('HLC stamps in rows', () => {
  it('refuses plannedAt, a decision time or revertedAt that is not an HLC stamp', async () => {
    const { engine } = replica();
    const iteration = {
      missionId: 'm1',
      slot: '2026-11-25T07:00:00.000Z',
      trigger: 'schedule',
      runner: { kind: 'device', deviceId: 'dev_b' },
      status: 'planned',
      plan: { summary: 's', steps: [] },
    };
    const report = await engine.applyRemote([
      change('01J00000000000000000000001', 'iterations', 'm1@a', {
        ...iteration,
        plannedAt: '2026-11-25T07:00:00Z',
      }),
      change('01J00000000000000000000002', 'iterations', 'm1@b', { revertedAt: 'yesterday' }),
      change('01J00000000000000000000003', 'proposals', 'm1@a#0', {
        status: 'rejected',
        decision: { verdict: 'rejected', by: actor, at: 'just now' },
      }),
      change('01J00000000000000000000004', 'iterations', 'm1@c', {
        ...iteration,
        plannedAt: stamp,
      }),
    ]);
    expect(report.refused.map((refusal) => refusal.message)).toEqual([
      expect.stringMatching(/^fields\.plannedAt: must be an HLC stamp/),
      expect.stringMatching(/^fields\.revertedAt: must be an HLC stamp/),
      expect.stringMatching(/^fields\.decision\.at: must be an HLC stamp/),
    ]);
    expect(report.applied).toBe(1);
  });
});
