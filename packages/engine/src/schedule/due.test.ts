import { describe, expect, it } from 'vitest';
import type { CatchUp, Schedule } from '../model/schedule.ts';
import { catchUpWindowSlots, dueSlots, onTimeMs } from './due.ts';
import { iterationIdOf } from './slots.ts';

const hour = 3_600_000;
const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const hourly: Schedule = { kind: 'interval', everyMs: hour, anchor: start };

function due(options: {
  now: number;
  catchUp?: Partial<CatchUp>;
  since?: number;
  existing?: number[];
  retry?: number[];
  schedule?: Schedule;
}) {
  return dueSlots({
    missionId: 'm1',
    schedule: options.schedule ?? hourly,
    catchUp: { mode: 'latest', maxLateMs: 6 * hour, ...options.catchUp },
    since: options.since ?? start - 1,
    now: options.now,
    existing: new Set(
      [...(options.existing ?? []), ...(options.retry ?? [])].map((slot) =>
        iterationIdOf('m1', slot),
      ),
    ),
    retry: new Set((options.retry ?? []).map((slot) => iterationIdOf('m1', slot))),
  });
}

describe('dueSlots', () => {
  it('plans a slot once its time has come, and not before', () => {
    expect(due({ now: start - 1 })).toEqual({ plan: [], skip: [] });
    expect(due({ now: start })).toEqual({ plan: [start], skip: [] });
    expect(due({ now: start + 2 * 60_000 })).toEqual({ plan: [start], skip: [] });
  });

  it('does not plan a slot that already has an iteration', () => {
    expect(due({ now: start + 60_000, existing: [start] })).toEqual({ plan: [], skip: [] });
  });

  it('catch-up latest: plans only the newest missed slot and skips the older ones', () => {
    const now = start + 3 * hour + 30 * 60_000;
    expect(due({ now })).toEqual({
      plan: [start + 3 * hour],
      skip: [start, start + hour, start + 2 * hour],
    });
  });

  it('catch-up all: plans each missed slot, oldest first', () => {
    const now = start + 3 * hour + 30 * 60_000;
    expect(due({ now, catchUp: { mode: 'all' } })).toEqual({
      plan: [start, start + hour, start + 2 * hour, start + 3 * hour],
      skip: [],
    });
  });

  it('catch-up none: skips every missed slot but still plans one that is on time', () => {
    const late = start + 3 * hour + 30 * 60_000;
    expect(due({ now: late, catchUp: { mode: 'none' } })).toEqual({
      plan: [],
      skip: [start, start + hour, start + 2 * hour, start + 3 * hour],
    });
    const onTime = start + 3 * hour + onTimeMs;
    expect(due({ now: onTime, catchUp: { mode: 'none' } })).toEqual({
      plan: [start + 3 * hour],
      skip: [start, start + hour, start + 2 * hour],
    });
  });

  it('skips a slot later than maxLateMs, whatever the mode', () => {
    const now = start + 3 * hour;
    for (const mode of ['latest', 'all', 'none'] as const) {
      const result = due({
        now: now + 30 * 60_000,
        catchUp: { mode, maxLateMs: 20 * 60_000 },
        schedule: { kind: 'once', at: now },
      });
      expect(result).toEqual({ plan: [], skip: [now] });
    }
    expect(due({ now: now + 30 * 60_000, catchUp: { mode: 'all', maxLateMs: 2 * hour } })).toEqual({
      plan: [start + 2 * hour, start + 3 * hour],
      skip: [start, start + hour],
    });
  });

  it(`looks back at most ${catchUpWindowSlots} slots, so a long downtime floods nothing`, () => {
    const now = start + 500 * hour;
    const result = due({ now, catchUp: { mode: 'all', maxLateMs: 1_000 * hour } });
    expect(result.plan).toHaveLength(catchUpWindowSlots);
    expect(result.plan[0]).toBe(start + (500 - catchUpWindowSlots + 1) * hour);
    expect(result.skip).toEqual([]);
    const latest = due({ now });
    expect(latest.plan).toEqual([now]);
    expect(latest.plan.length + latest.skip.length).toBe(catchUpWindowSlots);
  });

  it('plans a failed slot whose retry is due again while it is the newest, or under all', () => {
    const now = start + 20 * 60_000;
    expect(due({ now, retry: [start] })).toEqual({ plan: [start], skip: [] });
    const later = start + hour + 10 * 60_000;
    expect(due({ now: later, retry: [start] })).toEqual({ plan: [start + hour], skip: [] });
    expect(due({ now: later, retry: [start], catchUp: { mode: 'all' } })).toEqual({
      plan: [start, start + hour],
      skip: [],
    });
    // Never recorded as skipped: its failure stays until a retry replaces it.
    expect(due({ now: later, retry: [start], catchUp: { mode: 'none' } })).toEqual({
      plan: [],
      skip: [start + hour],
    });
  });

  it('never counts a slot at or before the mission was created', () => {
    expect(due({ now: start + 30 * 60_000, since: start })).toEqual({ plan: [], skip: [] });
    expect(due({ now: start + hour, since: start + 10 * 60_000 })).toEqual({
      plan: [start + hour],
      skip: [],
    });
  });
});
