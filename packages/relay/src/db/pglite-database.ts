import { PGlite, type PGliteInterface, type Transaction } from '@electric-sql/pglite';
import { setFlagsFromString } from 'node:v8';
import type { Database, SqlRunner, SqlValue, TransactionRunner } from './database.ts';
import { createPgliteDatabase, pgliteDatabaseExists } from './pglite-folder.ts';

function runnerOf(target: PGliteInterface | Transaction): SqlRunner {
  return {
    kind: 'pglite',
    async query<Row extends object>(text: string, params: SqlValue[] = []) {
      const result = await target.query<Row>(text, params);
      return result.rows;
    },
  };
}

function transactionRunnerOf(transaction: Transaction): TransactionRunner {
  const runner = runnerOf(transaction);
  let depth = 0;
  const self: TransactionRunner = {
    ...runner,
    async savepoint(fn) {
      const name = `savepoint_${(depth += 1)}`;
      await runner.query(`savepoint ${name}`);
      try {
        const value = await fn(self);
        await runner.query(`release savepoint ${name}`);
        return value;
      } catch (error) {
        await runner.query(`rollback to savepoint ${name}`);
        await runner.query(`release savepoint ${name}`);
        throw error;
      } finally {
        depth -= 1;
      }
    },
  };
  return self;
}

/** Wraps an open PGlite instance; `close()` closes it. */
export function wrapPglite(pglite: PGliteInterface): Database {
  const runner = runnerOf(pglite);
  // Statements and transactions asked for and not yet settled: PGlite runs one at a time.
  let calls = 0;
  const counted = async <T>(run: () => Promise<T>): Promise<T> => {
    calls += 1;
    try {
      return await run();
    } finally {
      calls -= 1;
    }
  };
  return {
    kind: 'pglite',
    query: <Row extends object>(text: string, params?: SqlValue[]) =>
      counted(() => runner.query<Row>(text, params)),
    transaction: (fn) =>
      counted(() => pglite.transaction((transaction) => fn(transactionRunnerOf(transaction)))),
    queued: () => Math.max(0, calls - 1),
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

/**
 * PostgreSQL's own page cache inside PGlite. PGlite's default (128 MB) lives in the relay's
 * memory on top of everything else, while pages it does not hold are read back through PGlite's
 * file layer. Measured with the relay bundled (decision 0013), RSS idle / peak at 100,000 pushed
 * changes: 16 MB 144 / 252 MB, 64 MB 195 / 323 MB, 128 MB 275 / 414 MB (goals 250 / 400). At
 * 16 MB a user's 1,000-change pushes slowed to 0.66× once the user held 100,000 rows (the pages
 * no longer fit); at 64 MB they kept their pace (issue 10).
 */
export const defaultPgliteSharedBuffers = '64MB';

/**
 * PostgreSQL in WebAssembly is compiled by V8's baseline compiler (Liftoff) alone: the optimising
 * tier's code for PGlite's module stayed resident for as long as the relay ran (PGlite opened on
 * a data folder: RSS 245 → 190 MB). Inserting 30,000 rows and 2,000 point reads took less CPU
 * this way (1.3–1.5 s vs 1.5–1.9 s, four runs each), since nothing is compiled twice. Set before
 * the module is compiled; the flag touches only WebAssembly.
 */
let liftoffOnly = false;
function compileWasmWithLiftoffOnly(): void {
  if (liftoffOnly) return;
  setFlagsFromString('--liftoff-only');
  liftoffOnly = true;
}

/** PGlite in a data folder (created when missing), or in memory when `dataDir` is undefined. */
export async function openPglite(options: {
  dataDir: string | undefined;
  /** PostgreSQL's `shared_buffers`, e.g. '16MB' (default `defaultPgliteSharedBuffers`). */
  sharedBuffers?: string;
}): Promise<Database> {
  compileWasmWithLiftoffOnly();
  const startParams = [
    ...PGlite.defaultStartParams,
    '-c',
    `shared_buffers=${options.sharedBuffers ?? defaultPgliteSharedBuffers}`,
  ];
  if (options.dataDir === undefined) return wrapPglite(await PGlite.create({ startParams }));
  if (!pgliteDatabaseExists(options.dataDir)) await createPgliteDatabase(options.dataDir);
  return wrapPglite(await PGlite.create(options.dataDir, { startParams }));
}
