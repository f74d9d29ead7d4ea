import { openDatabase, type BatonDatabase } from './database.ts';

let db: BatonDatabase | undefined;

/** The page's read-only handle on the `baton` database (the worker is the only writer). */
export function pageDb(): BatonDatabase {
  db ??= openDatabase();
  return db;
}
