import { IterationSchema, MissionSchema } from '@baton/engine';
import { describe, expect, it } from 'vitest';
import type { IterationRow, MissionRow } from '../queries.ts';
import { priceOf } from './model-prices.ts';
import {
  budgetsToday,
  costWords,
  dayKey,
  formatCost,
  summarizeUsage,
  unclaimedNote,
} from './usage-summary.ts';

const hour = 3_600_000;
const day = 24 * hour;
// Noon, so that a few hours either way stay on the same calendar day in any time zone used here.
const now = new Date(2026, 10, 25, 12, 0, 0).getTime();

function mission(
  id: string,
  title: string,
  budget = { maxRunsPerDay: 4, maxTokensPerDay: 10_000 },
) {
  return {
    ...MissionSchema.parse({ title, objective: 'Help', schedule: { kind: 'manual' }, budget }),
    id,
  } as MissionRow;
}

function run(options: {
  missionId: string;
  at: number;
  model?: string;
  prompt?: number;
  completion?: number;
  status?: 'planned' | 'failed' | 'skipped';
}): IterationRow {
  const slot = new Date(options.at).toISOString();
  return {
    ...IterationSchema.parse({
      missionId: options.missionId,
      slot,
      trigger: 'schedule',
      runner: { kind: 'device', deviceId: 'dev_a' },
      status: options.status ?? 'planned',
      plannedAt: `${String(options.at).padStart(15, '0')}-000000-dev_a`,
      usage:
        options.status === 'skipped'
          ? null
          : {
              promptTokens: options.prompt ?? 1_000,
              completionTokens: options.completion ?? 200,
              model: options.model ?? 'gpt-4o-mini',
              latencyMs: 900,
              rounds: 2,
            },
    }),
    id: `${options.missionId}@${slot}`,
  } as IterationRow;
}

const missions = [mission('m_a', 'Daily plan'), mission('m_b', 'Weekly review')];
const iterations = [
  run({ missionId: 'm_a', at: now - hour }),
  run({ missionId: 'm_a', at: now - 2 * hour, model: 'llama3.2', prompt: 3_000, completion: 0 }),
  run({ missionId: 'm_a', at: now - 3 * hour, status: 'skipped' }),
  run({ missionId: 'm_b', at: now - 3 * day, status: 'failed', prompt: 500, completion: 0 }),
  run({ missionId: 'm_b', at: now - 20 * day, model: 'gpt-4o', prompt: 10_000, completion: 1_000 }),
  run({ missionId: 'm_gone', at: now - 40 * day }),
];

describe('summarizeUsage', () => {
  it('counts runs and tokens of the last 7 days per mission, per model and per day', () => {
    const week = summarizeUsage({ missions, iterations, now, days: 7 });
    expect(week.total).toMatchObject({ runs: 3, failed: 1, tokens: 1_200 + 3_000 + 500 });
    expect(week.byMission.map((line) => [line.title, line.runs, line.tokens])).toEqual([
      ['Daily plan', 2, 4_200],
      ['Weekly review', 1, 500],
    ]);
    expect(week.byModel.map((line) => [line.model, line.runs, line.tokens])).toEqual([
      ['llama3.2', 1, 3_000],
      ['gpt-4o-mini', 2, 1_700],
    ]);
    expect(week.perDay).toHaveLength(7);
    expect(week.perDay.at(-1)).toEqual({ day: dayKey(now), runs: 2, tokens: 4_200 });
    expect(week.perDay.find((entry) => entry.day === dayKey(now - 3 * day))).toEqual({
      day: dayKey(now - 3 * day),
      runs: 1,
      tokens: 500,
    });
  });

  it('reaches back 30 days, and names a mission that was deleted', () => {
    const month = summarizeUsage({ missions, iterations, now, days: 30 });
    expect(month.total.runs).toBe(4);
    expect(month.byMission[0]).toMatchObject({ title: 'Weekly review', runs: 2, tokens: 11_500 });
    const withGone = summarizeUsage({
      missions,
      iterations: [run({ missionId: 'm_gone', at: now - day })],
      now,
      days: 7,
    });
    expect(withGone.byMission[0]?.title).toBe('A deleted mission');
  });

  it('prices known models and keeps the tokens of unknown ones apart', () => {
    const week = summarizeUsage({ missions, iterations, now, days: 7 });
    // gpt-4o-mini: 1,500 prompt tokens at $0.15/M and 200 completion tokens at $0.60/M.
    expect(week.total.cost).toBeCloseTo((1_500 * 0.15 + 200 * 0.6) / 1_000_000, 12);
    expect(week.total.unpricedTokens).toBe(3_000);
    expect(costWords(week.byModel[0]!)).toBe('unknown price');
    expect(costWords(week.byModel[1]!)).toBe('≈ under $0.001');
    expect(costWords(week.byMission[0]!)).toBe('≈ under $0.001 + unknown price');
    expect(costWords({ cost: 0, unpricedTokens: 0, tokens: 0 })).toBe('$0');
  });
});

describe('model prices', () => {
  it('knows a model by its family, dated or prefixed, and never guesses an unknown one', () => {
    expect(priceOf('gpt-4o-mini-2024-07-18')).toEqual({ input: 0.15, output: 0.6 });
    expect(priceOf('openai/gpt-4o')).toEqual({ input: 2.5, output: 10 });
    expect(priceOf('gpt-4o')).not.toEqual(priceOf('gpt-4o-mini'));
    expect(priceOf('llama3.2')).toBeUndefined();
    expect(priceOf('gpt-4o-turbo-custom')).toEqual({ input: 2.5, output: 10 });
    expect(priceOf('')).toBeUndefined();
  });

  it('shows at most two significant figures', () => {
    expect(formatCost(0.012345)).toBe('$0.012');
    expect(formatCost(1.2345)).toBe('$1.2');
    expect(formatCost(12.5)).toBe('$13');
    expect(formatCost(0.0004)).toBe('under $0.001');
  });
});

describe('budgetsToday', () => {
  it('counts the last 24 hours against each mission’s budget, the closest to it first', () => {
    const budgets = budgetsToday({
      missions: [...missions, { ...mission('m_c', 'Archived'), state: 'archived' }],
      iterations: [
        ...iterations,
        run({ missionId: 'm_b', at: now - 23 * hour, prompt: 8_000, completion: 1_000 }),
      ],
      now,
    });
    expect(budgets.map((line) => [line.title, line.runs, line.tokens])).toEqual([
      ['Weekly review', 1, 9_000],
      ['Daily plan', 2, 4_200],
    ]);
    expect(budgets[0]!.used).toBeCloseTo(0.9);
    expect(budgets[1]!.used).toBeCloseTo(0.5);
  });
});

describe('unclaimedNote', () => {
  it('says which rounds were made while the relay was out of reach, and nothing when none were', () => {
    expect(unclaimedNote({ rounds: 2 })).toBe('');
    expect(unclaimedNote({ rounds: 2, unclaimedRounds: 0 })).toBe('');
    expect(unclaimedNote({ rounds: 2, unclaimedRounds: 2 })).toBe(
      ', made while the relay was out of reach',
    );
    expect(unclaimedNote({ rounds: 3, unclaimedRounds: 1 })).toBe(
      ', 1 made while the relay was out of reach',
    );
  });
});
