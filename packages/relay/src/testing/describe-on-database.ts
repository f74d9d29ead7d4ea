import { describe } from 'vitest';
import { postgresSkipReason, testDatabaseKinds, type TestDatabaseKind } from './test-database.ts';

/**
 * `describe(name on <kind>)` for one database kind. Without a PostgreSQL the PostgreSQL suite is
 * still declared but skipped, its name saying why, so the run counts its tests as skipped rather
 * than losing them without a word.
 */
export function describeOn(kind: TestDatabaseKind, name: string, suite: () => void): void {
  if (kind === 'postgres' && postgresSkipReason !== undefined)
    describe.skip(`${name} on postgres (skipped: ${postgresSkipReason})`, suite);
  else describe(`${name} on ${kind}`, suite);
}

/** `describeOn` for every database kind: the suite gets the kind to build its database with. */
export function describeOnEachDatabase(
  name: string,
  suite: (kind: TestDatabaseKind) => void,
): void {
  for (const kind of testDatabaseKinds) describeOn(kind, name, () => suite(kind));
}
