import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared.ts';

export default defineConfig({
  test: {
    ...sharedTestOptions,
    // Property tests run 1,000 cases each; on two busy cores some take longer than the default 5 s.
    testTimeout: 60_000,
    // The tests are CPU-bound (property tests, simulated histories): one worker per core.
    maxWorkers: availableParallelism(),
  },
});
