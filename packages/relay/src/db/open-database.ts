import type { Database } from './database.ts';
import { migrate } from './migrate.ts';
import { openPglite } from './pglite-database.ts';
import { openPostgres } from './postgres-database.ts';

/**
 * Opens PostgreSQL when `databaseUrl` is set, PGlite in `dataDir` otherwise, and brings the
 * schema up to date (idempotent; safe when several instances start at once).
 */
export async function openDatabase(options: {
  databaseUrl: string | undefined;
  dataDir: string;
}): Promise<Database> {
  const database =
    options.databaseUrl === undefined
      ? await openPglite({ dataDir: options.dataDir })
      : openPostgres({ url: options.databaseUrl });
  try {
    await migrate(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}
