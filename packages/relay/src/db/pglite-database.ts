import { PGlite, type PGliteInterface, type Transaction } from '@electric-sql/pglite';
import { setFlagsFromString } from 'node:v8';
import type { Database, SqlRunner, SqlValue, TransactionRunner } from './database.ts';
import {
  defaultCheckpointPolicy,
  startCheckpoints,
  type CheckpointPolicy,
} from './pglite-checkpoints.ts';
import { defaultVacuumPolicy, startVacuums, type VacuumPolicy } from './pglite-vacuum.ts';
import { createPgliteDatabase, pgliteDatabaseExists } from './pglite-folder.ts';

/** PostgreSQL's type id of `jsonb`. */
const jsonbTypeId = 3802;

/**
 * A `jsonb` parameter in PostgreSQL's binary form: the format's version (1), then the JSON text
 * as UTF-8. PGlite sends a parameter given as bytes as they are; a string it first measures
 * character by character in JavaScript to size the message, then encodes. For the one JSON
 * parameter of a 1,000-change push (about 300 kB) that took 5 ms of a 24 ms insert on disk, and
 * 15 of 45 ms in memory (a scratch run of 35 inserts each way, taking turns); PostgreSQL reads
 * both forms into the same `jsonb`. Text that is not a string is made JSON first, as PGlite's
 * own serializer does.
 */
export function jsonbParameter(value: unknown): Uint8Array {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const bytes = Buffer.allocUnsafe(1 + Buffer.byteLength(text));
  bytes[0] = 1;
  bytes.write(text, 1);
  return bytes;
}

const textTypeId = 25;

/** A large `text` parameter as its UTF-8 bytes (the text type's binary form), for the same reason. */
export function textParameter(value: unknown): string | Uint8Array {
  const text = typeof value === 'string' ? value : String(value);
  return text.length < 4096 ? text : Buffer.from(text);
}

const queryOptions = {
  serializers: { [jsonbTypeId]: jsonbParameter, [textTypeId]: textParameter },
};

function runnerOf(target: PGliteInterface | Transaction): SqlRunner {
  return {
    kind: 'pglite',
    async query<Row extends object>(text: string, params: SqlValue[] = []) {
      // PGlite's options type its serializers as returning strings; one that returns bytes is
      // sent in binary form (its message writer checks for an ArrayBuffer view).
      const result = await target.query<Row>(
        text,
        params,
        queryOptions as unknown as Parameters<PGliteInterface['query']>[2],
      );
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

/**
 * Settings PGlite is started with beyond its own (`PGlite.defaultStartParams`):
 * - `shared_buffers`: see `defaultPgliteSharedBuffers`.
 * - `wal_init_zero=off`: PostgreSQL makes each new 16 MB file of its write-ahead log by writing
 *   16 MB of zeros, so that the space is taken before it is needed. PGlite runs that in the
 *   relay's own thread, through its file layer: while a user's 1,000-change pushes came in, one
 *   commit in every four to six took 20–100 ms instead of 1–3 ms on disk, and 70–210 ms in
 *   memory (scratch runs of 20,000 and 60,000 changes). Off, the file is made by writing its
 *   last byte, and its blocks are taken as the log fills them. What the log holds and what a
 *   commit guarantees are unchanged.
 */
function startParamsOf(options: { sharedBuffers?: string }): string[] {
  return [
    ...PGlite.defaultStartParams,
    '-c',
    `shared_buffers=${options.sharedBuffers ?? defaultPgliteSharedBuffers}`,
    '-c',
    'wal_init_zero=off',
  ];
}

/**
 * PGlite in a data folder (created when missing), or in memory when `dataDir` is undefined,
 * checkpointed (pglite-checkpoints.ts) and vacuumed (pglite-vacuum.ts) while open.
 */
export async function openPglite(options: {
  dataDir: string | undefined;
  /** PostgreSQL's `shared_buffers`, e.g. '16MB' (default `defaultPgliteSharedBuffers`). */
  sharedBuffers?: string;
  /** When checkpoints are made (default `defaultCheckpointPolicy`). */
  checkpoints?: Partial<CheckpointPolicy>;
  /** How often the tables are looked at for vacuum (default `defaultVacuumPolicy`). */
  vacuums?: Partial<VacuumPolicy>;
}): Promise<Database> {
  compileWasmWithLiftoffOnly();
  const startParams = startParamsOf(options);
  let pglite: PGlite;
  if (options.dataDir === undefined) pglite = await PGlite.create({ startParams });
  else {
    if (!pgliteDatabaseExists(options.dataDir)) await createPgliteDatabase(options.dataDir);
    pglite = await PGlite.create(options.dataDir, { startParams });
  }
  const db = wrapPglite(pglite);
  const checkpoints = startCheckpoints(db, { ...defaultCheckpointPolicy, ...options.checkpoints });
  const vacuums = startVacuums(db, { ...defaultVacuumPolicy, ...options.vacuums });
  return {
    ...db,
    async close() {
      await Promise.all([checkpoints.stop(), vacuums.stop()]);
      await db.close();
    },
  };
}
