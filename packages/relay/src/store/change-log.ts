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
import type { SqlRunner, TransactionRunner } from '../db/database.ts';
import type { GroupEnd } from './user-writes.ts';

/** Serialises one user's writing transactions until commit (PostgreSQL; see above). */
export async function lockUser(runner: SqlRunner, userId: string): Promise<void> {
  if (runner.kind === 'pglite') return;
  await runner.query("select pg_advisory_xact_lock(hashtextextended('baton-user:' || $1, 0))", [
    userId,
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
 * Which of the ids `$2` (text[]) user `$1`'s log holds, asked when a push repeats a logged change
 * (`appendChanges`): one probe of the key (user_id, id) per id. A lateral subquery with a limit
 * runs once per id, and the key answers it on PGlite, which never gathers statistics, and on
 * PostgreSQL once it has them. `id = any($2)` was planned on PGlite as a scan of every id of the
 * user's, each compared with the whole list: 13 ms for a 1,000-change push at 30,000 changes of
 * the user's and 120–140 ms at 190,000, against 5 ms at any size this way.
 */
export const knownIdsSql = `select given.id from unnest($2::text[]) as given (id)
  cross join lateral (
    select 1 from change_ids where change_ids.user_id = $1 and change_ids.id = given.id limit 1
  ) as found`;

/** Whether `error` is the key (user_id, id) of `change_ids` refusing an id already logged. */
export function isDuplicateChangeId(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '23505' && String(message).includes('change_ids_pkey');
}

/** Most changes one page of the log holds (a push holds at most 1,000). */
export const pageSize = 1_000;

/**
 * Appends changes in order, in the caller's transaction; a change id already in the user's log,
 * or earlier in `changes`, is skipped. Returns the ids that were new, the highest seq appended
 * (undefined when none were) and the new changes' size as JSON text (bytes).
 *
 * The log is kept in pages (`change_pages`, decision 0021): the changes of one append, numbered
 * after the user's last change, as one row holding their JSON text, and each change's id in
 * `change_ids`, whose key (user_id, id) is what says a change was logged before.
 */
export async function appendChanges(
  runner: TransactionRunner,
  options: {
    userId: string;
    changes: Change[];
    now: number;
    /**
     * The changes were just made here (the relay's own engine): their ids are new, so none is
     * looked for; one already logged fails the insert (a broken invariant).
     */
    made?: boolean;
    /** The caller's group of writes, told of the stamps appended (user-writes.ts). */
    group: Pick<GroupEnd, 'appended'>;
  },
): Promise<{ inserted: Set<string>; lastSeq: string | undefined; bytes: number }> {
  const distinct: Change[] = [];
  const seen = new Set<string>();
  for (const change of options.changes) {
    if (seen.has(change.id)) continue;
    seen.add(change.id);
    distinct.push(change);
  }
  if (distinct.length === 0) return { inserted: new Set(), lastSeq: undefined, bytes: 0 };
  options.group.appended(distinct.map((change) => change.hlc));
  let fresh = distinct;
  if (options.made) await insertChangeIds(runner, options.userId, distinct);
  else {
    // Nearly every push holds only changes the log lacks (a device sends one again when it did
    // not read the answer to the first try), so the ids are inserted without a look first, in a
    // savepoint: one already logged fails the insert on the key (user_id, id), which is rolled
    // back and made again with the logged ids left out. (`on conflict do nothing returning id`
    // says the same in one statement, at twice the insert's time: 10.9 against 5.4 ms for
    // 1,000 ids on PGlite.)
    try {
      await runner.savepoint((inner) => insertChangeIds(inner, options.userId, distinct));
    } catch (error) {
      if (!isDuplicateChangeId(error)) throw error;
      const known = await runner.query<{ id: string }>(knownIdsSql, [
        options.userId,
        distinct.map((change) => change.id),
      ]);
      const logged = new Set(known.map((record) => record.id));
      fresh = distinct.filter((change) => !logged.has(change.id));
      if (fresh.length > 0) await insertChangeIds(runner, options.userId, fresh);
    }
  }
  if (fresh.length === 0) return { inserted: new Set(), lastSeq: undefined, bytes: 0 };
  // The caller holds the user's lock, so numbers are given and committed in one order, without
  // gaps, and no other transaction can add one of these ids meanwhile.
  let lastSeq = '';
  let bytes = 0;
  for (let from = 0; from < fresh.length; from += pageSize) {
    const page = await insertPage(runner, {
      userId: options.userId,
      page: pageOf(fresh.slice(from, from + pageSize)),
      now: options.now,
    });
    lastSeq = page.lastSeq;
    bytes += page.bytes;
  }
  return { inserted: new Set(fresh.map((change) => change.id)), lastSeq, bytes };
}

/** Adds the ids of `changes` to the user's logged ids; one already there fails it on the key. */
export function insertChangeIds(
  runner: SqlRunner,
  userId: string,
  changes: readonly Change[],
): Promise<unknown> {
  return runner.query('insert into change_ids (user_id, id) select $1, unnest($2::text[])', [
    userId,
    changes.map((change) => change.id),
  ]);
}

/** A page of the log as it is written: its changes' JSON text, their size and newest stamp. */
export interface PageOfChanges {
  count: number;
  text: string;
  /** The changes' size as JSON text (the quota's measure). */
  bytes: number;
  newest: string;
}

/** The page holding `changes` (at least one, at most `pageSize`, distinct ids). */
export function pageOf(changes: readonly Change[]): PageOfChanges {
  // The changes serialised once, as one array: the page's text, and their size for the user's
  // quota (an array's JSON is its elements' JSON between brackets, joined by commas).
  const text = JSON.stringify(changes);
  const bytes = Buffer.byteLength(text) - 2 - (changes.length - 1);
  let newest = changes[0]!.hlc;
  for (const change of changes) if (change.hlc > newest) newest = change.hlc;
  return { count: changes.length, text, bytes, newest };
}

/**
 * Inserts one page of changes (distinct ids, none of them logged) after the user's last change;
 * returns the cursor of its last change.
 */
export async function insertPage(
  runner: SqlRunner,
  options: { userId: string; page: PageOfChanges; now: number },
): Promise<{ lastSeq: string; bytes: number }> {
  const { page } = options;
  // Numbered after the user's last change in the same statement (the key's last entry).
  const [record] = await runner.query<{ last: string }>(
    `insert into change_pages (user_id, first_seq, last_seq, newest_hlc, bytes, committed_at, body)
     select $1, top.top + 1, top.top + $2::int, $3, $4::bigint, $5::bigint, $6
       from (select coalesce(max(last_seq), 0) as top from change_pages where user_id = $1) as top
     returning last_seq::text as last`,
    [options.userId, page.count, page.newest, page.bytes, options.now, page.text],
  );
  if (!record?.last)
    throw new EngineError('internal', 'Appending to the change log wrote nothing.');
  return { lastSeq: userCursor(record.last), bytes: page.bytes };
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
  // A cursor from the shared sequence: the user's changes up to it, by their new numbers. The
  // changes logged then were each given a page of their own, which keeps its old number.
  const [record] = await runner.query<{ user_seq: string | null }>(
    `select max(last_seq)::text as user_seq from change_pages
      where user_id = $1 and shared_seq <= $2::bigint`,
    [options.userId, options.cursor],
  );
  return record?.user_seq ?? '0';
}

/** The user's log position, `u0` when it is empty. */
export async function lastSeqOf(runner: SqlRunner, userId: string): Promise<string> {
  const records = await runner.query<{ seq: string | null }>(
    'select max(last_seq)::text as seq from change_pages where user_id = $1',
    [userId],
  );
  return userCursor(records[0]?.seq ?? '0');
}

/** The newest HLC stamp in the user's log, so a relay engine's clock starts past it. */
export async function lastStampOf(runner: SqlRunner, userId: string): Promise<string | undefined> {
  const records = await runner.query<{ hlc: string | null }>(
    'select max(newest_hlc) as hlc from change_pages where user_id = $1',
    [userId],
  );
  return records[0]?.hlc ?? undefined;
}

/**
 * The pages holding the user's numbers after `$2`, up to `$2 + $3`: those whose last number is
 * past `$2` and whose first is within the range. A page holds at most `pageSize` changes, so its
 * last number is at most `pageSize - 1` past the range's end, which bounds the key's scan.
 */
export const pullRangeSql = `select first_seq::text as first, body from change_pages
  where user_id = $1 and last_seq > $2::bigint and last_seq < $2::bigint + $3::int + ${pageSize}
    and first_seq <= $2::bigint + $3::int
  order by last_seq`;

/**
 * A pull page's changes: up to `take` changes of the user after `since`, in number order, read
 * from the pages that hold them. The log numbers each user's changes without gaps, so they are
 * the `take` numbers after `since`, asked for as that range; a page's text is parsed here, and
 * its changes outside the range left out. A range that comes back short while later pages exist
 * (a gap, which the log does not make; a log restored from elsewhere might) is read again by
 * the next `take` pages, so a page of the pull is never cut short.
 */
async function changesAfter(
  runner: SqlRunner,
  options: { userId: string; since: string; take: number },
): Promise<Array<{ seq: string; body: unknown }>> {
  const { userId, since, take } = options;
  const ranged = changesOf(
    await runner.query<{ first: string; body: string }>(pullRangeSql, [userId, since, take]),
    { since, take },
  );
  if (ranged.length === take) return ranged;
  const last = ranged.at(-1)?.seq ?? since;
  const [later] = await runner.query<{ found: boolean }>(
    'select exists (select 1 from change_pages where user_id = $1 and last_seq > $2::bigint) as found',
    [userId, last],
  );
  if (!later?.found) return ranged;
  const pages = await runner.query<{ first: string; body: string }>(
    `select first_seq::text as first, body from change_pages
      where user_id = $1 and last_seq > $2::bigint order by last_seq limit $3::int`,
    [userId, since, take],
  );
  return changesOf(pages, { since, take });
}

/** The first `take` changes of `pages` (in number order) numbered after `since`. */
function changesOf(
  pages: ReadonlyArray<{ first: string; body: string }>,
  options: { since: string; take: number },
): Array<{ seq: string; body: unknown }> {
  const after = BigInt(options.since);
  const changes: Array<{ seq: string; body: unknown }> = [];
  for (const page of pages) {
    let seq = BigInt(page.first);
    for (const body of parsePage(page.body, page.first)) {
      if (changes.length === options.take) return changes;
      if (seq > after) changes.push({ seq: String(seq), body });
      seq += 1n;
    }
  }
  return changes;
}

/** A page's changes as stored (a JSON array); one that is not is a broken invariant and throws. */
function parsePage(text: string, first: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value))
    throw new EngineError('internal', `The page of changes from seq ${first} is unreadable.`);
  return value;
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
  const records = await changesAfter(runner, {
    userId: options.userId,
    since,
    take: options.limit + 1,
  });
  const more = records.length > options.limit;
  const page = more ? records.slice(0, options.limit) : records;
  return {
    changes: page.map((record) => readChange(record.body, record.seq)),
    cursor: userCursor(page.at(-1)?.seq ?? since),
    more,
  };
}
