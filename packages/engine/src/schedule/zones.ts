import { Cron } from 'croner';

/** Memo of answers that cost a parse each time (a tick reads every mission through its schema). */
function memo<T>(compute: (key: string) => T): (key: string) => T {
  const answers = new Map<string, T>();
  return (key) => {
    if (answers.has(key)) return answers.get(key)!;
    const answer = compute(key);
    // Bounded: a flood of distinct bad values must not grow memory without end.
    if (answers.size >= 2_000) answers.clear();
    answers.set(key, answer);
    return answer;
  };
}

/** Is `zone` an IANA time zone this runtime knows (e.g. `Europe/Berlin`, `UTC`)? */
export const isTimeZone = memo((zone: string): boolean => {
  if (zone.trim() === '' || zone !== zone.trim()) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
});

const cronProblemOf = memo((key: string): string | undefined => {
  const [expr = '', zone = ''] = JSON.parse(key) as [string, string];
  try {
    new Cron(expr, { timezone: zone, paused: true }).stop();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
});

/**
 * Why a cron expression cannot be scheduled in `zone` (croner's own message), or undefined
 * when it can. The zone is checked separately with `isTimeZone`.
 */
export function cronProblem(expr: string, zone: string): string | undefined {
  return cronProblemOf(JSON.stringify([expr, zone]));
}
