import { describe, it } from 'vitest';
import { expectSeedsPass } from './seed-range.ts';

// Seeds 500–999 of the 2,000 that `npm test` runs (four files, side by side).
describe('simulated histories', () => {
  for (let batch = 0; batch < 5; batch += 1) {
    const from = 500 + batch * 100;
    it(
      `keeps every invariant in seeds ${from}–${from + 99}`,
      () => expectSeedsPass({ from, count: 100 }),
      120_000,
    );
  }
});
