/**
 * Runs, tokens and estimated cost from the iteration rows this device holds: per mission, per
 * model and per calendar day over the last 7 or 30 days, and how much of each mission's daily
 * budget the last 24 hours used (the engine's rule: runner/budget.ts). Pure: the page passes
 * the rows and `now`.
 */
import { hlcWallMs } from '@baton/engine';
import type { IterationRow, MissionRow } from '../queries.ts';
import { costOf } from './model-prices.ts';

const dayMs = 24 * 3_600_000;

export interface UsageTotals {
  /** Runs that called (or tried to call) a model: planned and failed, not skipped slots. */
  runs: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  tokens: number;
  /** US dollars of the runs whose model has a known price. */
  cost: number;
  /** Tokens of runs whose model has no known price (their cost is not in `cost`). */
  unpricedTokens: number;
}

export interface UsageSummary {
  days: number;
  total: UsageTotals;
  /** Most tokens first. */
  byMission: Array<UsageTotals & { missionId: string; title: string }>;
  /** Most tokens first; `model` is '' when the runs recorded none. */
  byModel: Array<UsageTotals & { model: string }>;
  /** One entry per calendar day (local time), oldest first, today last. */
  perDay: Array<{ day: string; runs: number; tokens: number }>;
}

const emptyTotals = (): UsageTotals => ({
  runs: 0,
  failed: 0,
  promptTokens: 0,
  completionTokens: 0,
  tokens: 0,
  cost: 0,
  unpricedTokens: 0,
});

/** The local calendar day of an instant, as YYYY-MM-DD. */
export function dayKey(ms: number): string {
  const date = new Date(ms);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** When a run was planned (its plan's stamp), in epoch ms. */
const plannedAtMs = (iteration: IterationRow) => hlcWallMs(iteration.plannedAt);

function add(totals: UsageTotals, iteration: IterationRow): void {
  totals.runs += 1;
  if (iteration.status === 'failed') totals.failed += 1;
  const usage = iteration.usage;
  if (!usage) return;
  const tokens = usage.promptTokens + usage.completionTokens;
  totals.promptTokens += usage.promptTokens;
  totals.completionTokens += usage.completionTokens;
  totals.tokens += tokens;
  const cost = costOf(usage.model, usage);
  if (cost === undefined) totals.unpricedTokens += tokens;
  else totals.cost += cost;
}

const byTokens = (a: UsageTotals, b: UsageTotals) => b.tokens - a.tokens || b.runs - a.runs;

export function summarizeUsage(options: {
  missions: readonly MissionRow[];
  iterations: readonly IterationRow[];
  now: number;
  days: number;
}): UsageSummary {
  const { now, days } = options;
  const titles = new Map(options.missions.map((mission) => [mission.id, mission.title]));
  const total = emptyTotals();
  const missions = new Map<string, UsageTotals>();
  const models = new Map<string, UsageTotals>();
  const perDay = new Map<string, { day: string; runs: number; tokens: number }>();
  // Calendar days, today last; a day is counted as it began where the clock was changed.
  for (let index = days - 1; index >= 0; index -= 1) {
    const day = dayKey(now - index * dayMs);
    perDay.set(day, { day, runs: 0, tokens: 0 });
  }
  const oldest = [...perDay.keys()][0];
  for (const iteration of options.iterations) {
    if (iteration.status === 'skipped') continue;
    const at = plannedAtMs(iteration);
    const day = dayKey(at);
    if (at > now + dayMs || oldest === undefined || day < oldest) continue;
    add(total, iteration);
    const mission = missions.get(iteration.missionId) ?? emptyTotals();
    add(mission, iteration);
    missions.set(iteration.missionId, mission);
    const modelName = iteration.usage?.model ?? '';
    const model = models.get(modelName) ?? emptyTotals();
    add(model, iteration);
    models.set(modelName, model);
    const bucket = perDay.get(day);
    if (bucket) {
      bucket.runs += 1;
      bucket.tokens += iteration.usage
        ? iteration.usage.promptTokens + iteration.usage.completionTokens
        : 0;
    }
  }
  return {
    days,
    total,
    byMission: [...missions]
      .map(([missionId, totals]) => ({
        ...totals,
        missionId,
        title: titles.get(missionId) ?? 'A deleted mission',
      }))
      .sort(byTokens),
    byModel: [...models].map(([model, totals]) => ({ ...totals, model })).sort(byTokens),
    perDay: [...perDay.values()],
  };
}

export interface BudgetToday {
  missionId: string;
  title: string;
  runs: number;
  maxRunsPerDay: number;
  tokens: number;
  maxTokensPerDay: number;
  /** The larger of the two shares used, 0..1 (more than 1 when a run passed it). */
  used: number;
  state: MissionRow['state'];
  pausedReason: string | null;
}

/**
 * Each active or paused mission's use of its budget in the 24 hours before `now` (runs and
 * tokens, as the engine counts them before granting a run), the closest to its limit first.
 */
export function budgetsToday(options: {
  missions: readonly MissionRow[];
  iterations: readonly IterationRow[];
  now: number;
}): BudgetToday[] {
  const { now } = options;
  return options.missions
    .filter((mission) => mission.state === 'active' || mission.state === 'paused')
    .map((mission) => {
      const today = options.iterations.filter(
        (iteration) =>
          iteration.missionId === mission.id &&
          iteration.status !== 'skipped' &&
          now - plannedAtMs(iteration) < dayMs,
      );
      const tokens = today.reduce(
        (sum, iteration) =>
          sum +
          (iteration.usage ? iteration.usage.promptTokens + iteration.usage.completionTokens : 0),
        0,
      );
      const { maxRunsPerDay, maxTokensPerDay } = mission.budget;
      return {
        missionId: mission.id,
        title: mission.title,
        runs: today.length,
        maxRunsPerDay,
        tokens,
        maxTokensPerDay,
        used: Math.max(today.length / maxRunsPerDay, tokens / maxTokensPerDay),
        state: mission.state,
        pausedReason: mission.pausedReason ?? null,
      };
    })
    .sort((a, b) => b.used - a.used || a.title.localeCompare(b.title));
}

/** "$0.012", "under $0.01", "$1.20": two significant figures at most, never more precise. */
export function formatCost(dollars: number): string {
  if (dollars === 0) return '$0';
  if (dollars < 0.001) return 'under $0.001';
  const digits = Math.max(0, 1 - Math.floor(Math.log10(dollars)));
  return `$${dollars.toFixed(Math.min(digits, 3))}`;
}

/** A line's estimated cost in words: known, unknown, or known plus an unknown part. */
export function costWords(totals: Pick<UsageTotals, 'cost' | 'unpricedTokens' | 'tokens'>): string {
  if (totals.tokens === 0) return '$0';
  if (totals.unpricedTokens === 0) return `≈ ${formatCost(totals.cost)}`;
  if (totals.unpricedTokens === totals.tokens) return 'unknown price';
  return `≈ ${formatCost(totals.cost)} + unknown price`;
}

/**
 * A model's name for people. A run through the relay's proxy that failed before an answer
 * records the name the device sent, `relay-default` (worker/device-model.ts), which means the
 * relay's own model.
 */
export function modelLabel(model: string): string {
  if (model === 'relay-default') return 'the relay’s model';
  return model || 'not recorded';
}

/**
 * What a run's rounds were made without the relay's claim, for the iteration card: empty when
 * none were. Such rounds were planned by a device while the relay was out of reach (or it was
 * signed out), so another runner may have planned the same slot meanwhile.
 */
export function unclaimedNote(usage: { rounds: number; unclaimedRounds?: number | undefined }) {
  const unclaimed = Math.min(usage.unclaimedRounds ?? 0, usage.rounds);
  if (unclaimed === 0) return '';
  if (unclaimed === usage.rounds) return ', made while the relay was out of reach';
  return `, ${unclaimed} made while the relay was out of reach`;
}
