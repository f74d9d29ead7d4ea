import postgres from 'postgres';
import type { Database, SqlRunner, SqlValue, TransactionRunner } from './database.ts';

type Sql = postgres.Sql | postgres.TransactionSql;

function runnerOf(sql: Sql): SqlRunner {
  return {
    kind: 'postgres',
    async query<Row extends object>(text: string, params: SqlValue[] = []) {
      // Prepared (named, per connection): an unprepared statement with parameters costs two
      // round trips (postgres.js first asks the server for the parameter types) and holds back
      // every statement queued behind it; a prepared one is described once per connection and
      // then sent in one go, pipelined with the next. The relay's SQL is a fixed set of texts.
      const rows = await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
        prepare: params.length > 0,
      });
      return rows as unknown as Row[];
    },
  };
}

function transactionRunnerOf(sql: postgres.TransactionSql): TransactionRunner {
  return {
    ...runnerOf(sql),
    // postgres.js's own savepoint: a failed statement inside it does not fail the transaction.
    savepoint: async (fn) =>
      (await sql.savepoint((inner) => fn(transactionRunnerOf(inner)))) as Awaited<
        ReturnType<typeof fn>
      >,
  };
}

/** A connection pool to PostgreSQL at `url`; `close()` ends every connection. */
export function openPostgres(options: { url: string; maxConnections?: number }): Database {
  const sql = postgres(options.url, {
    max: options.maxConnections ?? 10,
    // Statements are prepared (see `runnerOf`), but each execution is planned for its own
    // parameters, as an unprepared one was: with the generic plans PostgreSQL may switch to
    // after five runs, 1,000-change pushes slowed to a third as the user's log grew to 20k.
    connection: { plan_cache_mode: 'force_custom_plan' },
    onnotice: () => undefined,
    // Every jsonb parameter is already JSON text (see database.ts); the default serializer would
    // encode it a second time into a JSON string.
    types: {
      json: {
        to: 114,
        from: [114, 3802],
        serialize: (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value)),
        parse: (value: string) => JSON.parse(value) as unknown,
      },
    },
  });
  const runner = runnerOf(sql);
  return {
    kind: 'postgres',
    query: runner.query,
    transaction: async (fn) =>
      (await sql.begin((transaction) => fn(transactionRunnerOf(transaction)))) as Awaited<
        ReturnType<typeof fn>
      >,
    async listen(channel, onPayload) {
      const subscription = await sql.listen(channel, onPayload);
      return () => subscription.unlisten();
    },
    async notify(channel, payload) {
      await sql.notify(channel, payload);
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
