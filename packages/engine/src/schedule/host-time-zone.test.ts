import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Schedule } from '../model/schedule.ts';
import { dueSlots } from './due.ts';
import { nextSlot, slotsBetween } from './slots.ts';

const hour = 3_600_000;
const day = 24 * hour;

/** The host zones a replica may run in: its own clock settings must never move a slot. */
const hostZones = [
  'UTC',
  'Pacific/Auckland',
  'America/Los_Angeles',
  'Asia/Kolkata',
  'Europe/Berlin',
] as const;

/** Daylight-saving changes in 2026 of the zones above (and New York), as UTC instants. */
const changeDays = [
  '2026-03-08T10:00:00Z', // America/Los_Angeles and New_York spring forward
  '2026-03-29T01:00:00Z', // Europe/Berlin spring forward
  '2026-04-04T14:00:00Z', // Pacific/Auckland falls back (03:00 NZDT -> 02:00 NZST)
  '2026-09-26T14:00:00Z', // Pacific/Auckland springs forward (02:00 NZST -> 03:00 NZDT)
  '2026-10-25T01:00:00Z', // Europe/Berlin falls back
  '2026-11-01T09:00:00Z', // America/Los_Angeles falls back
].map((value) => Date.parse(value));

const cronArbitrary: fc.Arbitrary<Schedule> = fc.record({
  kind: fc.constant('cron' as const),
  expr: fc.constantFrom(
    '0 * * * *',
    '*/45 * * * *',
    '30 2 * * *',
    '30 1 * * *',
    '0 3 * * *',
    '0 9 * * 1-5',
    '15 0,2,23 * * *',
    '0 0 1 * *',
  ),
  tz: fc.constantFrom(
    'UTC',
    'Pacific/Auckland',
    'America/Los_Angeles',
    'Asia/Kolkata',
    'Europe/Berlin',
    'America/New_York',
  ),
});

const intervalArbitrary: fc.Arbitrary<Schedule> = fc.record({
  kind: fc.constant('interval' as const),
  everyMs: fc.constantFrom(15 * 60_000, hour, 6 * hour, day, 7 * day, 90 * 60_000 + 7_000),
  anchor: fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: changeDays[0]! }),
});

/** A window of up to three days around a daylight-saving change. */
const windowArbitrary = fc
  .tuple(
    fc.constantFrom(...changeDays),
    fc.integer({ min: -2 * day, max: day }),
    fc.integer({ min: 1, max: 3 * day }),
  )
  .map(([change, offset, length]) => ({ from: change + offset, to: change + offset + length }));

/** Everything a replica derives from a schedule: slots, the next slot, and what is due. */
function slotsOf(schedule: Schedule, window: { from: number; to: number }) {
  return {
    slots: slotsBetween(schedule, window.from, window.to, 200),
    next: nextSlot(schedule, window.from),
    due: dueSlots({
      missionId: 'm_1',
      schedule,
      catchUp: { mode: 'latest', maxLateMs: 6 * hour },
      since: window.from,
      now: window.to,
      existing: new Set(),
    }),
  };
}

describe('slots in different host time zones', () => {
  const original = process.env.TZ;
  function setHostZone(zone: string | undefined): void {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  }
  afterEach(() => setHostZone(original));

  it('the host zone really changes between runs (so the property below can fail)', () => {
    const instant = Date.parse('2026-07-01T12:00:00Z');
    const offsets = hostZones.map((zone) => {
      setHostZone(zone);
      return new Date(instant).getTimezoneOffset();
    });
    expect(offsets).toEqual([0, -720, 420, -330, -120]);
  });

  it('are equal across replicas in different host time zones, including a DST change day', () => {
    try {
      fc.assert(
        fc.property(
          fc.oneof(cronArbitrary, intervalArbitrary),
          windowArbitrary,
          (schedule, window) => {
            setHostZone('UTC');
            const expected = slotsOf(schedule, window);
            for (const zone of hostZones.slice(1)) {
              setHostZone(zone);
              expect(slotsOf(schedule, window), zone).toEqual(expected);
            }
          },
        ),
        { numRuns: 1000 },
      );
    } finally {
      setHostZone(original);
    }
  }, 120_000);
});
