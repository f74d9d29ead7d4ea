import { Cron, CronPattern } from 'croner';

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
  // croner's own message ("exactly five, six, or seven space separated parts") reads as if six
  // were as usual as five; people write five, so say five and name the optional extras.
  const parts = expr.trim().split(/\s+/).length;
  if (!expr.trim().startsWith('@') && (parts < 5 || parts > 7))
    return (
      `has ${parts} part${parts === 1 ? '' : 's'}; a cron expression has five: minute hour ` +
      'day-of-month month weekday, such as 30 7 * * 1-5 (a seconds field first and a year last ' +
      'are allowed too)'
    );
  try {
    new Cron(expr, { timezone: zone, paused: true }).stop();
  } catch (error) {
    return (error as Error).message;
  }
  // Slots must be at least a minute apart, as for intervals. Every other cron field counts
  // minutes or coarser, and zone offsets in use are whole minutes, so two slots in different minutes
  // are at least 60 s apart: only a seconds field (6 or 7 parts) matching two or more seconds
  // puts two slots inside one minute. croner's own parse, with the options Cron used above.
  const seconds = new CronPattern(expr, zone).second.filter((matches) => matches !== 0).length;
  if (seconds > 1)
    return (
      `fires more than once a minute (${seconds} times in each matching minute); slots must be ` +
      'at least one minute apart, so give the seconds field one value, or use five fields'
    );
  return undefined;
});

/**
 * Why a cron expression cannot be scheduled in `zone` (croner's own message, or that it fires
 * more than once a minute), or undefined when it can. The zone is checked separately with
 * `isTimeZone`.
 */
export function cronProblem(expr: string, zone: string): string | undefined {
  return cronProblemOf(JSON.stringify([expr, zone]));
}
