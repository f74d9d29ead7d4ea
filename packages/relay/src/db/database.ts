/**
 * The relay's one SQL door, with the same SQL on PGlite and PostgreSQL (one read, of rows by
 * many ids, is asked in the form each planner answers best: rows-table.ts). Parameters are plain
 * strings, numbers, booleans or null, cast explicitly in the SQL (`$1::jsonb`, `$2::bigint`), so
 * both drivers send them alike (except that PGlite is handed a `jsonb` one in binary form, which
 * it sends faster: pglite-database.ts); arrays and batches travel as one JSON parameter
 * (`jsonb_array_elements($1::jsonb)`). Times are stored as bigint epoch ms and read as `::float8`.
 */
/** A parameter: a scalar, or a list of strings for `= any($n::text[])`. */
export type SqlValue = string | number | boolean | null | readonly string[];

export interface SqlRunner {
  /**
   * Which PostgreSQL answers. The SQL is the same on both, except where their planners differ
   * enough to matter (PGlite's is PostgreSQL 17's and never has statistics; see rows-table.ts).
   */
  readonly kind: 'pglite' | 'postgres';
  /** Runs one statement and returns its rows (jsonb columns parsed). */
  query<Row extends object = Record<string, unknown>>(
    text: string,
    params?: SqlValue[],
  ): Promise<Row[]>;
}

/** A runner inside a transaction. */
export interface TransactionRunner extends SqlRunner {
  /**
   * Runs `fn` in a savepoint: when it throws, its statements are rolled back (the transaction
   * goes on) and the error is thrown again. Savepoints nest. A statement that fails outside one
   * fails the whole transaction, even when the error is caught (postgres.js).
   */
  savepoint<T>(fn: (runner: TransactionRunner) => Promise<T>): Promise<T>;
}

export interface Database extends SqlRunner {
  /** All-or-nothing: commits when `fn` resolves, rolls back when it throws. */
  transaction<T>(fn: (runner: TransactionRunner) => Promise<T>): Promise<T>;
  /**
   * How many statements and transactions wait for the one that runs (PGlite runs one at a time;
   * absent for PostgreSQL, whose pool runs them side by side).
   */
  queued?(): number;
  /** Calls `onPayload` for every NOTIFY on `channel` (from any connection); resolves to unlisten. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /** Closes connections; the process can exit afterwards. */
  close(): Promise<void>;
}

/** `json` for a batch parameter, e.g. `jsonb_to_recordset($1::jsonb)`. */
export function jsonParam(value: unknown): string {
  return JSON.stringify(value);
}
