import { describe, expect, it } from 'vitest';
import type { Iteration } from '../model/iteration.ts';
import { formatHlc } from '../sync/hlc.ts';
import { maxAttempts, nextRetryAt, retryBackoffMs, retryDue, type RetryFields } from './retry.ts';

const minute = 60_000;
const slot = Date.UTC(2026, 10, 25, 7, 0);
const catchUp = { mode: 'latest', maxLateMs: 60 * minute } as const;

/** A failed scheduled slot, its failure written `failedAfter` ms after the slot. */
function failure(fields: Partial<Iteration> = {}, failedAfter = 1_000): RetryFields {
  return {
    status: 'failed',
    trigger: 'schedule',
    slot: new Date(slot).toISOString(),
    plannedAt: formatHlc({ wallMs: slot + failedAfter, counter: 0, nodeId: 'dev_a' }),
    error: { code: 'unavailable', message: 'The model did not answer in time.' },
    attempts: 1,
    ...fields,
  };
}

describe('the retry rule', () => {
  it('backs off 1 minute after the first failure, doubling up to 15 minutes', () => {
    expect([1, 2, 3, 4, 5, 6].map(retryBackoffMs)).toEqual(
      [1, 2, 4, 8, 15, 15].map((minutes) => minutes * minute),
    );
  });

  it('retries a transient failure once its backoff has passed', () => {
    const iteration = failure({ attempts: 2 });
    expect(nextRetryAt({ iteration, catchUp })).toBe(slot + 1_000 + 2 * minute);
    expect(retryDue({ iteration, catchUp, now: slot + 1_000 + 2 * minute - 1 })).toBe(false);
    expect(retryDue({ iteration, catchUp, now: slot + 1_000 + 2 * minute })).toBe(true);
  });

  it('never retries a permanent failure, a manual run, a slot that is not failed, or after the last attempt', () => {
    const never = [
      failure({ error: { code: 'no_model', message: 'No model is configured.' } }),
      failure({ error: { code: 'bad_answer', message: 'unusable' } }),
      failure({ error: { code: 'model', message: 'The model answered 400' } }),
      failure({ error: null }),
      failure({ trigger: 'manual' }),
      failure({ status: 'planned' }),
      failure({ status: 'skipped' }),
      failure({ attempts: maxAttempts }),
    ];
    for (const iteration of never) {
      expect(nextRetryAt({ iteration, catchUp })).toBeUndefined();
      expect(retryDue({ iteration, catchUp, now: slot + 30 * minute })).toBe(false);
    }
  });

  it('retries only within the slot’s lateness window', () => {
    const iteration = failure();
    expect(retryDue({ iteration, catchUp, now: slot + 60 * minute })).toBe(true);
    expect(retryDue({ iteration, catchUp, now: slot + 60 * minute + 1 })).toBe(false);
    // A backoff that ends past the window is no retry at all.
    const late = failure({ attempts: 4 }, 55 * minute);
    expect(nextRetryAt({ iteration: late, catchUp })).toBeUndefined();
  });

  it('never retries a slot before its own time, when a runner whose clock ran ahead failed it early', () => {
    // Written 50 minutes before the slot: the backoff has long passed at the slot, not before it.
    const early = failure({}, -50 * minute);
    expect(nextRetryAt({ iteration: early, catchUp })).toBe(slot);
    expect(retryDue({ iteration: early, catchUp, now: slot - 1 })).toBe(false);
    expect(retryDue({ iteration: early, catchUp, now: slot })).toBe(true);
  });
});
