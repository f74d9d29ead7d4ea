/**
 * Vitest global setup: says once per run, in plain sight, when the PostgreSQL suites are
 * skipped (each is also counted as skipped and named with the reason).
 */
import { postgresSkipReason } from './test-database.ts';

export default function sayWhetherPostgresRuns(): void {
  if (postgresSkipReason === undefined) return;
  process.stdout.write(
    `\nSKIPPED: every relay suite on PostgreSQL, and the concurrency tests that need it: ${postgresSkipReason}\n\n`,
  );
}
