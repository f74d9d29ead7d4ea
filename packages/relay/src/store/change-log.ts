/**
 * The append-only log of changes per user; `user_seq` (the user's own sequence) is the pull
 * cursor, so one user's activity never shows in another's cursor.
 *
 * No gaps: on PostgreSQL every transaction that appends for a user first takes that user's
 * transaction-level advisory lock (`lockUser`), so one user's sequence numbers are allocated and
 * committed in the same order, and a reader never sees N+1 committed while N is still in
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
  // Numbered in the user's own sequence (`user_seq`), after the user's last change: the caller
  // holds the user's lock, so numbers are given and committed in one order, without gaps (ids
  // already in the log are left out before numbering).
  const records = await runner.query<{ id: string; user_seq: string }>(
    `with given as (
       select body, position from jsonb_array_elements($2::jsonb) with ordinality as given (body, position)
     ), fresh as (
       select body, row_number() over (order by position) as n from given
       where not exists (select 1 from changes where user_id = $1 and id = given.body ->> 'id')
     ), top as (
       select coalesce(max(user_seq), 0) as top from changes where user_id = $1
     )
     insert into changes (user_id, user_seq, id, table_name, row_id, hlc, body, committed_at)
     select $1, top.top + fresh.n, fresh.body ->> 'id', fresh.body ->> 'table', fresh.body ->> 'rowId', fresh.body ->> 'hlc', fresh.body, $3::bigint
     from fresh, top
     order by fresh.n
     on conflict (user_id, id) do nothing
     returning id, user_seq::text as user_seq`,
    [options.userId, jsonParam(options.changes), options.now],
  );
  let lastSeq: bigint | undefined;
  for (const record of records) {
    const seq = BigInt(record.user_seq);
    if (lastSeq === undefined || seq > lastSeq) lastSeq = seq;
  }
  return {
    inserted: new Set(records.map((record) => record.id)),
    lastSeq: lastSeq === undefined ? undefined : userCursor(lastSeq.toString()),
  };
}

/**
 * A cursor of the user's own sequence: `u` and the number. Cursors are the user's alone (design
 * §3): one user's pushes never move another's. Cursors without the `u` (issued before, when the
 * log had one sequence for every user) are still read: see `userSeqOfCursor`.
 */
export function userCursor(userSeq: string): string {
  return `u${userSeq}`;
}

/** The user's sequence number a cursor stands for. */
export async function userSeqOfCursor(
  runner: SqlRunner,
  options: { userId: string; cursor: string },
): Promise<string> {
  if (options.cursor.startsWith('u')) return options.cursor.slice(1);
  // A cursor from the shared sequence: the user's changes up to it, by their new numbers.
  const [record] = await runner.query<{ user_seq: string | null }>(
    'select max(user_seq)::text as user_seq from changes where user_id = $1 and seq <= $2::bigint',
    [options.userId, options.cursor],
  );
  return record?.user_seq ?? '0';
}

/** The user's log position, `u0` when it is empty. */
export async function lastSeqOf(runner: SqlRunner, userId: string): Promise<string> {
  const records = await runner.query<{ seq: string | null }>(
    'select max(user_seq)::text as seq from changes where user_id = $1',
    [userId],
  );
  return userCursor(records[0]?.seq ?? '0');
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
 * Changes after `since` (a cursor, '0' for the beginning) in the user's commit order, at most
 * `limit`. `cursor` is that of the last change returned (or where `since` stands when none);
 * `more` says whether more changes follow it.
 */
export async function pullChanges(
  runner: SqlRunner,
  options: { userId: string; since: string; limit: number },
): Promise<{ changes: Change[]; cursor: string; more: boolean }> {
  const since = await userSeqOfCursor(runner, { userId: options.userId, cursor: options.since });
  const records = await runner.query<{ seq: string; body: unknown }>(
    `select user_seq::text as seq, body from changes
      where user_id = $1 and user_seq > $2::bigint order by user_seq limit $3::int`,
    [options.userId, since, options.limit + 1],
  );
  const more = records.length > options.limit;
  const page = more ? records.slice(0, options.limit) : records;
  return {
    changes: page.map((record) => readChange(record.body, record.seq)),
    cursor: userCursor(page.at(-1)?.seq ?? since),
    more,
  };
}
