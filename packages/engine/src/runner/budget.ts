import { readRow, type RowOf } from '../model/read-row.ts';
import { hlcWallMs, isHlcStamp } from '../sync/hlc.ts';
import type { StoredRow } from '../sync/merge.ts';

const dayMs = 24 * 3_600_000;

interface Run {
  /** Epoch ms it was planned; undefined when unreadable (then it counts as recent). */
  at: number | undefined;
  /** Tokens it used; undefined when unreadable (then it counts as one expected run). */
  tokens: number | undefined;
  /** Model rounds its tokens paid for, when known. */
  rounds?: number | undefined;
  /** A run granted but not written (a lease): the rounds its claims were granted. */
  granted?: number | undefined;
}

function roundsOf(usage: unknown): number | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const { rounds } = usage as Record<string, unknown>;
  return typeof rounds === 'number' && Number.isSafeInteger(rounds) && rounds > 0
    ? rounds
    : undefined;
}

function tokensOf(usage: unknown): number | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const { promptTokens, completionTokens } = usage as Record<string, unknown>;
  if (typeof promptTokens !== 'number' || typeof completionTokens !== 'number') return undefined;
  if (!Number.isFinite(promptTokens + completionTokens)) return undefined;
  return Math.max(0, promptTokens) + Math.max(0, completionTokens);
}

/**
 * The runs among a mission's iteration rows (skipped slots called no model). A row that fails
 * its schema still counts, conservatively: as a run, recent unless its stamp says otherwise,
 * with the tokens it records or else one expected run's worth.
 */
function runsOf(rows: readonly StoredRow[]): { runs: Run[]; readable: RowOf<'iterations'>[] } {
  const runs: Run[] = [];
  const readable: RowOf<'iterations'>[] = [];
  for (const row of rows) {
    if (row.fields._deleted === true) continue;
    const read = readRow('iterations', row);
    if (read.ok) {
      if (read.row.status === 'skipped') continue;
      readable.push(read.row);
      runs.push({
        at: hlcWallMs(read.row.plannedAt),
        tokens: read.row.usage ? tokensOf(read.row.usage) : 0,
        rounds: roundsOf(read.row.usage),
      });
      continue;
    }
    const stamp = row.fields.plannedAt;
    const at = isHlcStamp(stamp) ? hlcWallMs(stamp) : undefined;
    if (row.fields.status === 'skipped' && at !== undefined) continue;
    runs.push({ at, tokens: row.fields.usage === null ? 0 : tokensOf(row.fields.usage) });
  }
  return { runs, readable };
}

/**
 * The tokens one run is expected to use: the mean of today's runs that used any (a run that
 * failed before the model answered says nothing of the cost), else the last such run's, else 0
 * (unknown).
 */
function expectedTokens(today: readonly Run[], readable: readonly RowOf<'iterations'>[]): number {
  const known = today.flatMap((run) =>
    run.tokens === undefined || run.tokens === 0 ? [] : [run.tokens],
  );
  if (known.length > 0)
    return Math.ceil(known.reduce((sum, tokens) => sum + tokens, 0) / known.length);
  const last = readable
    .filter((iteration) => (iteration.usage ? (tokensOf(iteration.usage) ?? 0) : 0) > 0)
    .sort((a, b) => (a.plannedAt < b.plannedAt ? -1 : a.plannedAt > b.plannedAt ? 1 : 0))
    .at(-1);
  return last?.usage ? (tokensOf(last.usage) ?? 0) : 0;
}

/** The tokens one model round is expected to use: today's known tokens over their rounds. */
function tokensPerRound(today: readonly Run[], expected: number): number {
  let tokens = 0;
  let rounds = 0;
  for (const run of today) {
    if (run.tokens === undefined || run.tokens === 0 || run.rounds === undefined) continue;
    tokens += run.tokens;
    rounds += run.rounds;
  }
  return rounds > 0 ? Math.ceil(tokens / rounds) : expected;
}

/**
 * Why a mission may not run another iteration at `now`, or undefined. Counts the runs (not
 * skipped slots) of the 24 hours before `now` (a rolling day) and their tokens. A run is refused
 * when the runs per day are used up, or when the tokens used plus the expected cost of one
 * more run would pass the tokens per day, so a mission is stopped before it overspends, not
 * after. The reason is shown to the person as it is (the UI puts "Paused:" before it).
 */
export function budgetVerdict(options: {
  mission: RowOf<'missions'>;
  iterations: readonly StoredRow[];
  now: number;
  /**
   * Runs granted but not yet written (the relay's live claims on other slots of the mission):
   * each counts as a run of the expected cost, so two runners cannot both take the last run.
   * `inFlightRounds` says, for each, the rounds its claims were granted: one past the first
   * round costs at least those rounds' expected tokens.
   */
  inFlight?: number;
  inFlightRounds?: readonly number[];
  /**
   * Runs granted whose lease ran out with no plan written (their runner went away): spent. As
   * `inFlightRounds`, `abandonedRounds` says the rounds each was granted.
   */
  abandoned?: number;
  abandonedRounds?: readonly number[];
  /**
   * The claim continues a run already admitted (its holder renews the lease before another
   * model round): not one more run, but one more round. Refused when the tokens counted, this
   * run's granted rounds included (`unrecordedRounds`), plus one round's expected tokens would
   * pass the budget, so runs in flight at once cannot together take more than it.
   */
  renewal?: boolean;
  /**
   * Model rounds the claims owner granted that no iteration row accounts for (a runner cut off
   * after its claim, whose attempt lost to another's): each costs a round's expected tokens.
   */
  unrecordedRounds?: number;
  /**
   * Retries in flight on other slots (a live claim on a slot whose failed row does not record
   * all its grants yet): the row counts as the run, and each adds one run's expected tokens,
   * as its cost is not known yet.
   */
  retriesInFlight?: number;
  /**
   * The iteration id about to run. Its row (a failed attempt being retried) is not one more
   * run (the retry is the run it counted), but the tokens its attempts used are spent.
   */
  slot?: string;
}): { reason: string; kind: 'spent' | 'wait' } | undefined {
  const spent = (reason: string) => ({ reason, kind: 'spent' as const });
  const { budget } = options.mission;
  const { runs, readable } = runsOf(options.iterations.filter((row) => row.id !== options.slot));
  const prior = runsOf(options.iterations.filter((row) => row.id === options.slot)).runs;
  const priorTokens = prior.reduce((sum, run) => sum + (run.tokens ?? 0), 0);
  const today = runs.filter((run) => run.at === undefined || options.now - run.at < dayMs);
  const inFlight = options.inFlightRounds ?? Array.from({ length: options.inFlight ?? 0 }, () => 1);
  const abandoned =
    options.abandonedRounds ?? Array.from({ length: options.abandoned ?? 0 }, () => 1);
  for (const granted of [...inFlight, ...abandoned])
    today.push({ at: options.now, tokens: undefined, granted });
  const renewal = options.renewal === true;
  if (!renewal && today.length >= budget.maxRunsPerDay)
    return spent(
      `${today.length} runs in the last 24 hours reached the budget of ${budget.maxRunsPerDay} runs per day.`,
    );
  const expected = expectedTokens(today, readable);
  // While no run's cost is known, one run at a time: two at once could each pass the budget.
  const retries = options.retriesInFlight ?? 0;
  if (!renewal && expected === 0 && inFlight.length + retries > 0)
    return {
      reason: `a run of this mission is in flight and its cost is not known yet; the next waits for it.`,
      kind: 'wait',
    };
  const perRound = tokensPerRound(today, expected);
  // A run not written yet costs one expected run, or its granted rounds' worth once past one.
  const charged = (run: Run): number => {
    if (run.tokens !== undefined) return run.tokens;
    const granted = run.granted ?? 1;
    return granted > 1 ? Math.max(expected, granted * perRound) : expected;
  };
  const used =
    today.reduce((sum, run) => sum + charged(run), 0) +
    (options.unrecordedRounds ?? 0) * perRound +
    retries * expected +
    priorTokens;
  if (used >= budget.maxTokensPerDay)
    return spent(
      `${used} tokens in the last 24 hours reached the budget of ${budget.maxTokensPerDay} tokens per day.`,
    );
  if (renewal && used + perRound > budget.maxTokensPerDay)
    return spent(
      `${used} tokens used in the last 24 hours, this run's rounds so far included, and another round takes about ${perRound}: it would pass the budget of ${budget.maxTokensPerDay} tokens per day.`,
    );
  if (!renewal && used + expected > budget.maxTokensPerDay)
    return spent(
      `${used} tokens used in the last 24 hours, and a run takes about ${expected}: the next run would pass the budget of ${budget.maxTokensPerDay} tokens per day.`,
    );
  return undefined;
}

/**
 * `budgetVerdict`'s reason: why the mission may not run now (`kind: 'spent'`: its budget is
 * used up, the runner pauses it; `'wait'`: a run in flight must report its cost first).
 */
export function budgetBlock(options: Parameters<typeof budgetVerdict>[0]): string | undefined {
  return budgetVerdict(options)?.reason;
}
