import { describe, expect, it } from 'vitest';
import { createUserLimits } from './user-limits.ts';

const noon = Date.UTC(2026, 0, 10, 12, 0);

describe('per-user proxy limits', () => {
  const make = (limits: Partial<Parameters<typeof createUserLimits>[0]['limits']> = {}) => {
    const clock = { value: noon };
    const tracker = createUserLimits({
      limits: { maxInFlight: 2, callsPerMinute: 100, tokensPerDay: 1_000, ...limits },
      now: () => clock.value,
    });
    return { tracker, clock };
  };

  it('frees an in-flight place when a call finishes, once however often finish is called', () => {
    const { tracker } = make();
    const first = tracker.admit('u1');
    const second = tracker.admit('u1');
    expect(tracker.admit('u1')).toMatchObject({ admitted: false, limit: 'in_flight' });
    if (!first.admitted || !second.admitted) throw new Error('expected admitted');
    first.finish(10);
    first.finish(10);
    expect(tracker.usage('u1')).toMatchObject({ inFlight: 1, tokensToday: 10, callsToday: 2 });
    expect(tracker.admit('u1').admitted).toBe(true);
    expect(tracker.usage('u2')).toMatchObject({ inFlight: 0, callsToday: 0 });
  });

  it('counts calls in a sliding minute, refusals not included', () => {
    const { tracker, clock } = make({ callsPerMinute: 2, maxInFlight: 100 });
    expect(tracker.admit('u1').admitted).toBe(true);
    clock.value += 20_000;
    expect(tracker.admit('u1').admitted).toBe(true);
    const refused = tracker.admit('u1');
    expect(refused).toMatchObject({
      admitted: false,
      limit: 'calls_per_minute',
      retryAfterSeconds: 40,
    });
    clock.value += 40_000;
    expect(tracker.admit('u1').admitted).toBe(true);
    expect(tracker.admit('u1').admitted).toBe(false);
    expect(tracker.usage('u1')).toMatchObject({ callsToday: 3, refusalsToday: 2 });
  });

  it('refuses once the day tokens are used, until the next UTC day', () => {
    const { tracker, clock } = make({ tokensPerDay: 100 });
    const call = tracker.admit('u1');
    if (!call.admitted) throw new Error('expected admitted');
    call.finish(150);
    expect(tracker.admit('u1')).toMatchObject({
      admitted: false,
      limit: 'tokens_per_day',
      retryAfterSeconds: 12 * 3600,
    });
    clock.value = Date.UTC(2026, 0, 11, 0, 0);
    expect(tracker.usage('u1')).toMatchObject({
      day: '2026-01-11',
      tokensToday: 0,
      refusalsToday: 0,
    });
    expect(tracker.admit('u1').admitted).toBe(true);
  });
});
