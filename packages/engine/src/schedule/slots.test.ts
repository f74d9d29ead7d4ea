import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Schedule } from '../model/schedule.ts';
import { describeSchedule, iterationIdOf, nextSlot, slotsBetween, validateCron } from './slots.ts';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const day = 24 * 3_600_000;

/** Cron slots in the window (from, to], as ISO strings. */
function cronSlots(expr: string, tz: string, fromIso: string, toIso: string): string[] {
  return slotsBetween({ kind: 'cron', expr, tz }, Date.parse(fromIso), Date.parse(toIso), 100).map(
    (slot) => new Date(slot).toISOString(),
  );
}

describe('cron slots across daylight-saving changes (croner, IANA zones)', () => {
  // croner runs a time that falls in the spring-forward gap at the first valid instant after
  // the gap (03:00 local), and a time that occurs twice on the fall-back day once, at its
  // first (summer-time) occurrence. These are the slots every replica computes.
  it('Europe/Berlin spring forward (2026-03-29): 02:30 does not exist, runs at 03:00 CEST', () => {
    expect(
      cronSlots('30 2 * * *', 'Europe/Berlin', '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z'),
    ).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST, the end of the gap
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('Europe/Berlin fall back (2026-10-25): 02:30 happens twice, runs once, at the first', () => {
    expect(
      cronSlots('30 2 * * *', 'Europe/Berlin', '2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z'),
    ).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST (the second 02:30, CET, is not a slot)
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
    expect(
      cronSlots('30 1 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z'),
    ).toEqual([
      '2026-10-24T23:30:00.000Z', // 01:30 CEST, before the change
      '2026-10-26T00:30:00.000Z', // 01:30 CET
    ]);
  });

  it('Europe/Berlin hourly on the fall-back day keeps every real hour (25 slots)', () => {
    const slots = slotsBetween(
      { kind: 'cron', expr: '0 * * * *', tz: 'Europe/Berlin' },
      Date.parse('2026-10-24T22:00:00Z') - 1,
      Date.parse('2026-10-25T23:00:00Z') - 1,
      100,
    );
    expect(slots).toHaveLength(25);
    expect(
      slots.every((slot, index) => index === 0 || slot - slots[index - 1]! === 3_600_000),
    ).toBe(true);
  });

  it('America/New_York spring forward (2026-03-08): 02:30 runs at 03:00 EDT', () => {
    expect(
      cronSlots('30 2 * * *', 'America/New_York', '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z'),
    ).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
    ]);
  });

  it('America/New_York fall back (2026-11-01): 01:30 happens twice, runs once, at 01:30 EDT', () => {
    expect(
      cronSlots('30 1 * * *', 'America/New_York', '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z'),
    ).toEqual([
      '2026-10-31T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT (01:30 EST at 06:30Z is not a slot)
      '2026-11-02T06:30:00.000Z', // 01:30 EST
    ]);
  });

  it('gives the same slots on every call, from any starting point inside the window', () => {
    const schedule: Schedule = { kind: 'cron', expr: '30 2 * * *', tz: 'Europe/Berlin' };
    const from = Date.parse('2026-03-20T00:00:00Z');
    const to = Date.parse('2026-04-05T00:00:00Z');
    const whole = slotsBetween(schedule, from, to, 100);
    expect(slotsBetween(schedule, from, to, 100)).toEqual(whole);
    const stepped: number[] = [];
    for (let cursor = from; ;) {
      const next = nextSlot(schedule, cursor);
      if (next === undefined || next > to) break;
      stepped.push(next);
      cursor = next;
    }
    expect(stepped).toEqual(whole);
  });

  it('accepts exactly the crons whose consecutive slots are at least a minute apart', () => {
    const refused = (expr: string) => {
      try {
        validateCron(expr, 'Europe/Berlin');
        return false;
      } catch {
        return true;
      }
    };
    // The shortest gap between consecutive slots in the minutes around 07:00 on a weekday.
    const shortestGap = (expr: string) => {
      const slots = slotsBetween(
        { kind: 'cron', expr, tz: 'Europe/Berlin' },
        Date.parse('2026-03-02T05:58:00Z'),
        Date.parse('2026-03-02T06:03:00Z'),
        1_000,
      );
      return Math.min(...slots.slice(1).map((slot, index) => slot - slots[index]!));
    };
    const expressions = {
      '* * * * *': false,
      '*/1 * * * *': false,
      '0 */5 * * * *': false,
      '30 * * * * *': false,
      '* * * * * *': true,
      '*/15 * * * * *': true,
      '0,30 * * * * *': true,
      '10-11 * 7 * * *': true,
    };
    for (const [expr, tooFrequent] of Object.entries(expressions)) {
      expect(refused(expr), expr).toBe(tooFrequent);
      expect(shortestGap(expr) < 60_000, expr).toBe(tooFrequent);
    }
  });

  it('refuses an invalid expression or an unknown zone', () => {
    expect(() => validateCron('61 * * * *', 'UTC')).toThrow(/invalid cron/);
    expect(() => validateCron('0 7 * * *', 'Mars/Olympus')).toThrow(/unknown time zone/);
    expect(() => validateCron('0 7 * * 1-5', 'Europe/Berlin')).not.toThrow();
  });
});

describe('cron slots as a property', () => {
  const cronArbitrary = fc.record({
    kind: fc.constant('cron' as const),
    expr: fc.constantFrom(
      '0 * * * *',
      '*/30 * * * *',
      '30 2 * * *',
      '30 1 * * *',
      '0 9 * * 1-5',
      '15 1,2,3 * * *',
    ),
    tz: fc.constantFrom(
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'Australia/Lord_Howe',
      'Asia/Kolkata',
    ),
  });
  // Windows that start near a daylight-saving change in Europe or North America.
  const changes = [
    '2026-03-08T07:00:00Z',
    '2026-03-29T01:00:00Z',
    '2026-10-25T01:00:00Z',
    '2026-11-01T06:00:00Z',
  ];
  const windowArbitrary = fc
    .tuple(
      fc.constantFrom(...changes.map((value) => Date.parse(value))),
      fc.integer({ min: -day, max: day }),
      fc.integer({ min: 0, max: day }),
      fc.integer({ min: 0, max: day }),
    )
    .map(([change, offset, first, second]) => {
      const a = change + offset;
      return { a, b: a + first, c: a + first + second };
    });

  function walk(schedule: Schedule, from: number, to: number): number[] {
    const slots: number[] = [];
    for (let cursor = from; ;) {
      const next = nextSlot(schedule, cursor);
      if (next === undefined || next > to) return slots;
      slots.push(next);
      cursor = next;
    }
  }

  it('equal the newest `limit` slots of a walk with nextSlot, and split at any point', () => {
    fc.assert(
      fc.property(
        cronArbitrary,
        windowArbitrary,
        fc.integer({ min: 1, max: 60 }),
        (schedule, { a, b, c }, limit) => {
          const walked = walk(schedule, a, c);
          expect(slotsBetween(schedule, a, c, limit)).toEqual(walked.slice(-limit));
          expect(slotsBetween(schedule, a, c, 1_000)).toEqual([
            ...slotsBetween(schedule, a, b, 1_000),
            ...slotsBetween(schedule, b, c, 1_000),
          ]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('stay cheap for a window that started long ago', () => {
    const schedule: Schedule = { kind: 'cron', expr: '*/5 * * * *', tz: 'Europe/Berlin' };
    const now = Date.parse('2026-11-25T07:02:00Z');
    const slots = slotsBetween(schedule, now - 365 * day, now, 50);
    expect(slots).toHaveLength(50);
    expect(iso(slots.at(-1))).toBe('2026-11-25T07:00:00.000Z');
    expect(slots.at(-1)! - slots[0]!).toBe(49 * 5 * 60_000);
  });
});

describe('interval slots', () => {
  const intervalArbitrary = fc.record({
    kind: fc.constant('interval' as const),
    everyMs: fc.integer({ min: 60_000, max: 3 * day }),
    anchor: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  });
  const windowArbitrary = fc
    .tuple(
      fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
      fc.integer({ min: 0, max: 3 * day }),
      fc.integer({ min: 0, max: 3 * day }),
    )
    .map(([a, first, second]) => ({ a, b: a + first, c: a + first + second }));

  it('splits a window at any point into the same slots: (a,c] = (a,b] ++ (b,c]', () => {
    fc.assert(
      fc.property(intervalArbitrary, windowArbitrary, (schedule, { a, b, c }) => {
        expect(slotsBetween(schedule, a, c, 100_000)).toEqual([
          ...slotsBetween(schedule, a, b, 100_000),
          ...slotsBetween(schedule, b, c, 100_000),
        ]);
      }),
      { numRuns: 1000 },
    );
  });

  it('agrees with walking nextSlot, and every slot is anchor + k * everyMs inside the window', () => {
    fc.assert(
      fc.property(intervalArbitrary, windowArbitrary, (schedule, { a, c }) => {
        const slots = slotsBetween(schedule, a, c, 100_000);
        const walked: number[] = [];
        for (let cursor = a; ;) {
          const next = nextSlot(schedule, cursor)!;
          if (next > c) break;
          walked.push(next);
          cursor = next;
        }
        expect(slots).toEqual(walked);
        const onGrid = slots.every(
          (slot) => slot > a && slot <= c && (slot - schedule.anchor) % schedule.everyMs === 0,
        );
        expect(onGrid).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps the newest `limit` slots, whatever the order of calls before', () => {
    fc.assert(
      fc.property(
        intervalArbitrary,
        windowArbitrary,
        fc.integer({ min: 1, max: 60 }),
        (schedule, { a, b, c }, limit) => {
          const first = slotsBetween(schedule, a, c, limit);
          slotsBetween(schedule, b, c, limit);
          nextSlot(schedule, b);
          const all = slotsBetween(schedule, a, c, 100_000);
          expect(slotsBetween(schedule, a, c, limit)).toEqual(first);
          expect(first).toEqual(all.slice(-limit));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('other schedules and ids', () => {
  const at = Date.UTC(2026, 10, 25, 7, 0, 0);

  it('has no slots for a manual schedule', () => {
    expect(nextSlot({ kind: 'manual' }, 0)).toBeUndefined();
    expect(slotsBetween({ kind: 'manual' }, 0, at, 50)).toEqual([]);
  });

  it('has one slot for a once schedule, only while it is ahead', () => {
    expect(nextSlot({ kind: 'once', at }, at - 1)).toBe(at);
    expect(nextSlot({ kind: 'once', at }, at)).toBeUndefined();
    expect(slotsBetween({ kind: 'once', at }, 0, at, 50)).toEqual([at]);
    expect(slotsBetween({ kind: 'once', at }, at, at + day, 50)).toEqual([]);
  });

  it('names iterations by mission and slot ISO', () => {
    expect(iterationIdOf('m_1', at)).toBe('m_1@2026-11-25T07:00:00.000Z');
    expect(iso(nextSlot({ kind: 'interval', everyMs: day, anchor: at }, at))).toBe(
      '2026-11-26T07:00:00.000Z',
    );
  });

  it('describes schedules for lists', () => {
    expect(describeSchedule({ kind: 'interval', everyMs: 2 * 3_600_000, anchor: 0 })).toBe(
      'Every 2 hours',
    );
    expect(describeSchedule({ kind: 'interval', everyMs: day, anchor: 0 })).toBe('Every 1 day');
  });
});
