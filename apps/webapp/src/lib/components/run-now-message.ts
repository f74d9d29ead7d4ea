import type { RunNowOutcome } from '../worker/engine-api.ts';

/** What became of a "Run now", as RunNowButton reports it and RunNowResult shows it. */
export interface RunNowMessage {
  tone: 'ok' | 'bad' | 'info';
  text: string;
  /** The run on the mission's timeline. */
  href?: string;
  /** The fix is in Settings (a model for this device). */
  settings?: boolean;
}

/**
 * The message for a "Run now" the worker answered. A run that was not planned (the relay refused
 * this device's clock, say) shows the reason and no link: there is no run to open.
 */
export function runNowMessageOf(missionId: string, outcome: RunNowOutcome): RunNowMessage {
  const href = `/missions/${encodeURIComponent(missionId)}#${encodeURIComponent(outcome.iterationId)}`;
  switch (outcome.status) {
    case 'planned':
      return { tone: 'ok', text: 'Planned. See the proposals in the Inbox or the timeline.', href };
    case 'failed':
      return { tone: 'bad', text: 'Planning failed. The run says why, and offers Retry.', href };
    case 'claimed_elsewhere':
      return { tone: 'info', text: 'Another runner is planning this right now.', href };
    case 'unchanged':
      return outcome.message
        ? { tone: 'bad', text: outcome.message }
        : { tone: 'info', text: 'Nothing was planned.' };
  }
}
