import { describe, expect, it } from 'vitest';
import type { Change } from './change.ts';
import { formatHlc, maxDriftMs } from './hlc.ts';
import { pushStampProblem } from './push-rules.ts';

const now = Date.UTC(2026, 10, 30, 12, 0, 0);

function change(wallMs: number): Change {
  return {
    id: '01J00000000000000000000001',
    table: 'tasks',
    rowId: 't1',
    fields: { title: 'x' },
    hlc: formatHlc({ wallMs, counter: 0, nodeId: 'dev_a' }),
    actor: { kind: 'user', deviceId: 'dev_a' },
    deviceId: 'dev_a',
  };
}

describe('the relay checking pushed stamps', () => {
  it('accepts stamps up to 10 minutes ahead of its clock', () => {
    expect(pushStampProblem([change(now), change(now + maxDriftMs)], now)).toBeUndefined();
  });

  it('refuses the first stamp further ahead, naming it', () => {
    const problem = pushStampProblem([change(now), change(now + maxDriftMs + 1)], now);
    expect(problem).toMatchObject({ kind: 'clock', field: 'changes.1.hlc' });
  });

  it('says how far ahead the change is stamped and how long until it is accepted', () => {
    expect(pushStampProblem([change(now + 38 * 60_000)], now)?.message).toBe(
      "changes.0.hlc: stamped 38 minutes ahead of the relay's clock, which accepts 10 at most; it can be sent in about 28 minutes. Check this device's date and time.",
    );
    expect(pushStampProblem([change(now + maxDriftMs + 1_000)], now)?.message).toContain(
      "stamped 11 minutes ahead of the relay's clock",
    );
    expect(pushStampProblem([change(now + maxDriftMs + 1_000)], now)?.message).toContain(
      'in about 1 minute.',
    );
  });
});
