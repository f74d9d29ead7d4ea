import { PGlite, type PGliteInterface, type Transaction } from '@electric-sql/pglite';
import type { Database, SqlRunner, SqlValue } from './database.ts';

function runnerOf(target: PGliteInterface | Transaction): SqlRunner {
  return {
    async query<Row extends object>(text: string, params: SqlValue[] = []) {
      const result = await target.query<Row>(text, params);
      return result.rows;
    },
  };
}

/** Wraps an open PGlite instance; `close()` closes it. */
export function wrapPglite(pglite: PGliteInterface): Database {
  const runner = runnerOf(pglite);
  return {
    kind: 'pglite',
    query: runner.query,
    transaction: (fn) => pglite.transaction((transaction) => fn(runnerOf(transaction))),
    async listen(channel, onPayload) {
      const unlisten = await pglite.listen(channel, onPayload);
      return () => unlisten();
    },
    async notify(channel, payload) {
      await pglite.query('select pg_notify($1, $2)', [channel, payload]);
    },
    close: () => pglite.close(),
  };
}

/** PGlite in a data folder (created when missing), or in memory when `dataDir` is undefined. */
export async function openPglite(options: { dataDir: string | undefined }): Promise<Database> {
  const pglite =
    options.dataDir === undefined ? await PGlite.create() : await PGlite.create(options.dataDir);
  return wrapPglite(pglite);
}
