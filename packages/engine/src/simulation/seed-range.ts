import { describe, expect, it } from 'vitest';
import { runSeeds } from './run-seeds.ts';

/**
 * Runs seeds [from, from + count) in batches of 100 and fails with the first violations of
 * each failing seed, and how to replay it. Shared by the seed-range test files, which vitest
 * runs side by side (one per core).
 */
export async function expectSeedsPass(options: { from: number; count: number }): Promise<void> {
  const run = await runSeeds({ from: options.from, count: options.count });
  const failures = run.failures.map(({ seed, result }) => {
    const first = result.violations[0]!;
    return `seed ${seed}: ${first.invariant}: ${first.message.slice(0, 400)} (replay: npm run sim -- --seed ${seed} --shrink)`;
  });
  expect(failures).toEqual([]);
  expect(run.histories).toBe(options.count);
}

/** The tests of one file's share of the fixed seed range: `count` seeds from `first`, by 100. */
export function describeSeedRange(first: number, count = 500): void {
  describe('simulated histories', () => {
    for (let from = first; from < first + count; from += 100) {
      it(
        `keeps every invariant in seeds ${from}–${from + 99}`,
        () => expectSeedsPass({ from, count: 100 }),
        120_000,
      );
    }
  });
}
