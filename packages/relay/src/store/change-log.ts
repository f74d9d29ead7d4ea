/**
 * The append-only log of changes per user; `seq` (global identity) is the pull cursor.
 *
 * No gaps: on PostgreSQL every transaction that appends for a user first takes that user's
 * transaction-level advisory lock (`lockUser`), so one user's sequence numbers are allocated and
 * committed in the same order, and a reader never sees seq N+1 committed while N is still in
 * flight. PGlite runs one transaction at a time, which gives the same order without the lock.
 */
import { ChangeSchema, EngineError, type Change } from '@baton/engine';
import { jsonParam, type Database, type SqlRunner } from '../db/database.ts';

/** Serialises one user's writing transactions until commit (PostgreSQL; see above). */
export async function lockUser(
  runner: SqlRunner,
  options: { userId: string; kind: Database['kind'] },
): Promise<void> {
  if (options.kind === 'pglite') return;
  await runner.query("select pg_advisory_xact_lock(hashtextextended('baton-user:' || $1, 0))", [
    options.userId,
  ]);
}

/** Parses a change read back from the log; one that fails is a broken invariant and throws. */
export function readChange(body: unknown, seq: string): Change {
  const parsed = ChangeSchema.safeParse(body);
  if (parsed.success) return parsed.data as Change;
  const issue = parsed.error.issues[0];
  throw new EngineError(
    'internal',
    `The change at seq ${seq} is unreadable (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}).`,
  );
}

/**
 * Appends changes in order; a change id already in the user's log is skipped. Returns the ids
 * that were new, and the highest seq appended (undefined when none were).
 */
export async function appendChanges(
  runner: SqlRunner,
  options: { userId: string; changes: Change[]; now: number },
): Promise<{ inserted: Set<string>; lastSeq: string | undefined }> {
  if (options.changes.length === 0) return { inserted: new Set(), lastSeq: undefined };
  const records = await runner.query<{ id: string; seq: string }>(
    `insert into changes (user_id, id, table_name, row_id, hlc, body, committed_at)
     select $1, given.body ->> 'id', given.body ->> 'table', given.body ->> 'rowId', given.body ->> 'hlc', given.body, $3::bigint
     from jsonb_array_elements($2::jsonb) with ordinality as given (body, position)
     order by given.position
     on conflict (user_id, id) do nothing
     returning id, seq::text as seq`,
    [options.userId, jsonParam(options.changes), options.now],
  );
  let lastSeq: bigint | undefined;
  for (const record of records) {
    const seq = BigInt(record.seq);
    if (lastSeq === undefined || seq > lastSeq) lastSeq = seq;
  }
  return { inserted: new Set(records.map((record) => record.id)), lastSeq: lastSeq?.toString() };
}

/** The highest seq in the user's log, '0' when it is empty. */
export async function lastSeqOf(runner: SqlRunner, userId: string): Promise<string> {
  const records = await runner.query<{ seq: string | null }>(
    'select max(seq)::text as seq from changes where user_id = $1',
    [userId],
  );
  return records[0]?.seq ?? '0';
}

/** The newest HLC stamp in the user's log, so a relay engine's clock starts past it. */
export async function lastStampOf(runner: SqlRunner, userId: string): Promise<string | undefined> {
  const records = await runner.query<{ hlc: string | null }>(
    'select max(hlc) as hlc from changes where user_id = $1',
    [userId],
  );
  return records[0]?.hlc ?? undefined;
}

/**
 * Changes after `since` (a seq, '0' for the beginning) in commit order, at most `limit`.
 * `cursor` is the seq of the last change returned (or `since` when none); `more` says whether
 * more changes follow it.
 */
export async function pullChanges(
  runner: SqlRunner,
  options: { userId: string; since: string; limit: number },
): Promise<{ changes: Change[]; cursor: string; more: boolean }> {
  const records = await runner.query<{ seq: string; body: unknown }>(
    `select seq::text as seq, body from changes where user_id = $1 and seq > $2::bigint order by changes.seq limit $3::int`,
    [options.userId, options.since, options.limit + 1],
  );
  const more = records.length > options.limit;
  const page = more ? records.slice(0, options.limit) : records;
  return {
    changes: page.map((record) => readChange(record.body, record.seq)),
    cursor: page.at(-1)?.seq ?? options.since,
    more,
  };
}
