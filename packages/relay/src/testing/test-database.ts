/**
 * Fresh, migrated databases for tests. PGlite: initdb and migrations run once into a template
 * that is dumped to a file in the temp folder (named by a hash of the schema and the PGlite
 * version, so a schema change makes a new one); every test loads the dump (~0.5 s instead of
 * 3 s), and later test files and runs reuse the file.
 * PostgreSQL (when `TEST_DATABASE_URL` is set): the shared test database, migrated, with every
 * table emptied. Always `close()` what you get, or the process never exits.
 * Suites declare themselves per kind with `describeOnEachDatabase` or `describeOn`
 * (describe-on-database.ts): without `TEST_DATABASE_URL` the PostgreSQL ones are skipped and
 * say so, never silently left out.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Database } from '../db/database.ts';
import { migrate, schemaStatements } from '../db/migrate.ts';
import { wrapPglite } from '../db/pglite-database.ts';
import { openPostgres } from '../db/postgres-database.ts';

let template: Promise<Blob> | undefined;

function templatePath(): string {
  // The relay pins PGlite's exact version; its package.json is not importable (exports).
  const manifest = JSON.parse(
    readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as { dependencies: Record<string, string> };
  const version = manifest.dependencies['@electric-sql/pglite'] ?? 'unknown';
  const hash = createHash('sha256').update(version).update(schemaStatements.join('\n'));
  return join(tmpdir(), `baton-relay-pglite-${hash.digest('hex').slice(0, 16)}.tar`);
}

async function buildTemplate(): Promise<Blob> {
  const path = templatePath();
  if (existsSync(path)) return new Blob([readFileSync(path)]);
  const pglite = await PGlite.create();
  try {
    await migrate(wrapPglite(pglite));
    const dump = await pglite.dumpDataDir('none');
    const bytes = new Uint8Array(await dump.arrayBuffer());
    // Written aside and renamed, so a concurrent test process never reads half a file.
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, bytes);
    renameSync(partial, path);
    return new Blob([bytes]);
  } finally {
    await pglite.close();
  }
}

/** Every table the schema creates: emptied between tests that reuse one database. */
export const everyTable =
  'users, tokens, changes, change_pages, change_ids, rows, claims, devices, due, due_leases, user_usage, webhooks, push_subscriptions, push_keys';

/** PGlite instances a test closed, kept for the next test of this file (see vitest-setup.ts). */
const idle: PGlite[] = [];

/**
 * An empty, migrated PGlite. `close()` gives it back for reuse by a later test of the same file
 * (emptied when handed out again, with sequences restarted), which saves loading the template
 * each time; `closeTestDatabases()` closes them for good after the file.
 */
export async function createTestPglite(): Promise<Database> {
  let pglite = idle.pop();
  if (pglite) {
    await pglite.query(`truncate ${everyTable} restart identity`);
  } else {
    template ??= buildTemplate();
    pglite = await PGlite.create({ loadDataDir: await template });
  }
  const reused = pglite;
  let closed = false;
  return {
    ...wrapPglite(reused),
    async close() {
      if (closed) return;
      closed = true;
      idle.push(reused);
    },
  };
}

/** Closes the PGlite instances kept for reuse; the test process can then exit. */
export async function closeTestDatabases(): Promise<void> {
  await Promise.all(idle.splice(0).map((pglite) => pglite.close()));
}

/** The URL of a PostgreSQL for tests, or undefined (tests on it are then skipped, visibly). */
export const testDatabaseUrl: string | undefined = process.env.TEST_DATABASE_URL || undefined;

/**
 * Why this run skips the PostgreSQL suites, or undefined when it runs them. Said once per run by
 * the global setup (postgres-notice.ts) and in the name of every skipped suite.
 */
export const postgresSkipReason: string | undefined =
  testDatabaseUrl === undefined
    ? 'TEST_DATABASE_URL is not set (`npm test -- relay` starts PostgreSQL; by hand: ' +
      'eval "$(bash scripts/postgres.sh start)")'
    : undefined;

export async function createTestPostgres(
  options: { maxConnections?: number } = {},
): Promise<Database> {
  if (testDatabaseUrl === undefined) throw new Error('TEST_DATABASE_URL is not set');
  const database = openPostgres({ url: testDatabaseUrl, ...options });
  await migrate(database);
  await database.query(`truncate ${everyTable}`);
  return database;
}

/**
 * Another handle (its own pool) on the test PostgreSQL, as a second relay process has: one
 * process queues a user's writes (store/user-writes.ts), so only separate handles race in the
 * database. Nothing is emptied.
 */
export function openTestPostgresHandle(): Database {
  if (testDatabaseUrl === undefined) throw new Error('TEST_DATABASE_URL is not set');
  return openPostgres({ url: testDatabaseUrl, maxConnections: 2 });
}

export type TestDatabaseKind = 'pglite' | 'postgres';

/** Every database kind the relay runs on; a suite is declared for each, PostgreSQL or not. */
export const testDatabaseKinds: readonly TestDatabaseKind[] = ['pglite', 'postgres'];

export function createTestDatabase(kind: TestDatabaseKind): Promise<Database> {
  return kind === 'pglite' ? createTestPglite() : createTestPostgres();
}
