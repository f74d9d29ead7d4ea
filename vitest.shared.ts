/**
 * Settings every workspace's vitest config shares: the default reporter for people plus the line
 * reporter for CI. Usage in a workspace: `test: { ...sharedTestOptions, ...own options }`.
 */
import { fileURLToPath } from 'node:url';

export const lineReporterPath = fileURLToPath(
  new URL('./scripts/vitest-line-reporter.ts', import.meta.url),
);

export const sharedTestOptions = {
  reporters: ['default', lineReporterPath],
};
