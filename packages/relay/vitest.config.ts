import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared.ts';

export default defineConfig({
  test: {
    ...sharedTestOptions,
    // Relay tests start servers and databases (PGlite initdb takes seconds): generous timeouts,
    // and one file at a time so 2 cores are not oversubscribed.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    setupFiles: ['./src/testing/vitest-setup.ts'],
    globalSetup: ['./src/testing/postgres-notice.ts'],
  },
});
