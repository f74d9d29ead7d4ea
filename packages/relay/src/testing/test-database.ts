/**
 * Fresh, migrated databases for tests. PGlite: initdb and migrations run once per test process
 * into a template that is dumped and closed; every test loads the dump (~0.5 s instead of 3 s).
 * PostgreSQL (when `TEST_DATABASE_URL` is set): the shared test database, migrated, with every
 * table emptied. Always `close()` what you get, or the process never exits.
 */
import { PGlite } from '@electric-sql/pglite';
import type { Database } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { wrapPglite } from '../db/pglite-database.ts';
import { openPostgres } from '../db/postgres-database.ts';

let template: Promise<File | Blob> | undefined;

async function buildTemplate(): Promise<File | Blob> {
  const pglite = await PGlite.create();
  try {
    await migrate(wrapPglite(pglite));
    return await pglite.dumpDataDir('none');
  } finally {
    await pglite.close();
  }
}

export async function createTestPglite(): Promise<Database> {
  template ??= buildTemplate();
  const pglite = await PGlite.create({ loadDataDir: await template });
  return wrapPglite(pglite);
}

/** The URL of a PostgreSQL for tests, or undefined (tests on it are then skipped, visibly). */
export const testDatabaseUrl: string | undefined = process.env.TEST_DATABASE_URL || undefined;

export async function createTestPostgres(
  options: { maxConnections?: number } = {},
): Promise<Database> {
  if (testDatabaseUrl === undefined) throw new Error('TEST_DATABASE_URL is not set');
  const database = openPostgres({ url: testDatabaseUrl, ...options });
  await migrate(database);
  await database.query('truncate users, tokens, changes, rows, claims, devices, due');
  return database;
}

export type TestDatabaseKind = 'pglite' | 'postgres';

/** The database kinds to run a suite on: PGlite always, PostgreSQL when configured. */
export const testDatabaseKinds: TestDatabaseKind[] =
  testDatabaseUrl === undefined ? ['pglite'] : ['pglite', 'postgres'];

export function createTestDatabase(kind: TestDatabaseKind): Promise<Database> {
  return kind === 'pglite' ? createTestPglite() : createTestPostgres();
}
