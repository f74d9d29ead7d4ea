import { describe, expect, it } from 'vitest';
import { runNowMessageOf } from './run-now-message.ts';

const missionId = 'm 1';
const iterationId = 'it:1';

describe('runNowMessageOf', () => {
  it('links a planned, failed or elsewhere-planned run on the mission timeline', () => {
    for (const status of ['planned', 'failed', 'claimed_elsewhere'] as const) {
      expect(runNowMessageOf(missionId, { iterationId, status, message: null }).href).toBe(
        '/missions/m%201#it%3A1',
      );
    }
    expect(
      runNowMessageOf(missionId, { iterationId, status: 'planned', message: null }),
    ).toMatchObject({
      tone: 'ok',
      text: 'Planned. See the proposals in the Inbox or the timeline.',
    });
  });

  it('gives the reason a run was not planned, without a link to a run that does not exist', () => {
    const reason =
      "Not planned: this runner's clock is 40 minutes ahead of the relay's, which accepts 10 at most; check its date and time.";
    expect(
      runNowMessageOf(missionId, { iterationId, status: 'unchanged', message: reason }),
    ).toEqual({ tone: 'bad', text: reason });
    expect(runNowMessageOf(missionId, { iterationId, status: 'unchanged', message: null })).toEqual(
      { tone: 'info', text: 'Nothing was planned.' },
    );
  });
});
