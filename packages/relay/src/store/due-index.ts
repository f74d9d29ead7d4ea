/**
 * The due index: one row per mission with the time it next has work (`next_slot_at`): its next
 * slot that has no scheduled iteration yet, or the retry of its newest slot when that failed
 * transiently, whichever comes first; null when it has none (paused, manual, device-only,
 * deleted, a past `once`). Kept up to date in the same transaction as every write to missions
 * or iterations, so the runner finds users with due work in one indexed query instead of
 * reading every mission of every user.
 */
import {
  nextRetryAt,
  nextSlot,
  readRow,
  scheduleSince,
  type RowOf,
  type StoredRow,
} from '@baton/engine';
import { z } from 'zod';
import { jsonParam, type Database, type SqlRunner } from '../db/database.ts';
import { toStoredRow } from './rows-table.ts';

/** Mission ids whose due entry may change when these rows are written. */
export function missionIdsTouchedBy(rows: Iterable<StoredRow>): Set<string> {
  const ids = new Set<string>();
  for (const row of rows) {
    if (row.table === 'missions') ids.add(row.id);
    else if (row.table === 'iterations' && typeof row.fields.missionId === 'string')
      ids.add(row.fields.missionId);
  }
  return ids;
}

/**
 * When the mission next has work: the first slot after both the newest scheduled iteration and
 * the start of the mission's slots (the engine's `scheduleSince`: its creation, or a later edit
 * of its schedule, catch-up or state), or, if sooner, the retry of that newest iteration
 * (`lastScheduled`) by the engine's `nextRetryAt`, when it failed transiently after the start.
 * Older failed slots are retried by whatever tick plans the mission. Pure, so it is
 * unit-tested alone.
 */
export function nextDueSlot(options: {
  mission: StoredRow;
  lastScheduledSlotMs: number | undefined;
  lastScheduled?: StoredRow | undefined;
}): {
  runOn: string;
  nextSlotAt: number | undefined;
} {
  const read = readRow('missions', options.mission);
  if (!read.ok || options.mission.fields._deleted === true)
    return { runOn: 'device', nextSlotAt: undefined };
  const mission = read.row;
  if (mission.state !== 'active' || mission.runOn === 'device')
    return { runOn: mission.runOn, nextSlotAt: undefined };
  const since = scheduleSince(options.mission);
  const after = Math.max(options.lastScheduledSlotMs ?? -Infinity, since);
  const next = nextSlot(mission.schedule, after);
  const retry = retryOf(options.lastScheduled, since, mission.catchUp);
  const nextSlotAt =
    next === undefined || retry === undefined ? (next ?? retry) : Math.min(next, retry);
  return { runOn: mission.runOn, nextSlotAt };
}

/** When a failed iteration whose slot is after `since` is retried (`nextRetryAt`), or undefined. */
function retryOf(
  row: StoredRow | undefined,
  since: number,
  catchUp: RowOf<'missions'>['catchUp'],
): number | undefined {
  if (!row || row.fields._deleted === true) return undefined;
  const read = readRow('iterations', row);
  if (!read.ok || Date.parse(read.row.slot) <= since) return undefined;
  return nextRetryAt({ iteration: read.row, catchUp });
}

/** Recomputes the due entries of these missions from their current rows (inside a transaction). */
export async function refreshDue(
  runner: SqlRunner,
  userId: string,
  missionIds: Set<string>,
): Promise<void> {
  if (missionIds.size === 0) return;
  const records = await runner.query<{
    last_id: string | null;
    last_fields: unknown;
    last_stamps: unknown;
  }>(
    `select 'missions' as table_name, missions.row_id, missions.fields, missions.stamps,
       last.row_id as last_id, last.fields as last_fields, last.stamps as last_stamps
     from rows missions
     left join lateral (
       select iterations.row_id, iterations.fields, iterations.stamps from rows iterations
       where iterations.user_id = missions.user_id and iterations.table_name = 'iterations'
         and iterations.fields ->> 'missionId' = missions.row_id
         and iterations.fields ->> 'trigger' = 'schedule'
       order by iterations.fields ->> 'slot' desc limit 1) last on true
     where missions.user_id = $1 and missions.table_name = 'missions'
       and missions.row_id in (select jsonb_array_elements_text($2::jsonb))`,
    [userId, jsonParam([...missionIds])],
  );
  const entries = records.map((record) => {
    const mission = toStoredRow(record);
    const lastScheduled =
      record.last_id === null
        ? undefined
        : toStoredRow({
            table_name: 'iterations',
            row_id: record.last_id,
            fields: record.last_fields,
            stamps: record.last_stamps,
          });
    const lastSlot = Date.parse(String(lastScheduled?.fields.slot));
    const due = nextDueSlot({
      mission,
      lastScheduledSlotMs: Number.isNaN(lastSlot) ? undefined : lastSlot,
      lastScheduled,
    });
    return { mission_id: mission.id, run_on: due.runOn, next_slot_at: due.nextSlotAt ?? null };
  });
  if (entries.length === 0) return;
  await runner.query(
    `insert into due (user_id, mission_id, run_on, next_slot_at)
     select $1, given.mission_id, given.run_on, given.next_slot_at
     from jsonb_to_recordset($2::jsonb) as given (mission_id text, run_on text, next_slot_at bigint)
     on conflict (user_id, mission_id) do update set run_on = excluded.run_on, next_slot_at = excluded.next_slot_at`,
    [userId, jsonParam(entries)],
  );
}

export interface DueEntry {
  userId: string;
  missionId: string;
  runOn: string;
  nextSlotAt: number;
}

/**
 * Due entries as the queries below return them: one row whose `due` is a JSON array of
 * `[user_id, mission_id, run_on, next_slot_at]`. A thousand entries are one value to parse
 * instead of a thousand rows of four fields (the drivers' per-field work was most of the time);
 * `json`, not `jsonb`, which the server would build and the driver parse twice as slowly.
 */
const DueListSchema = z.array(z.tuple([z.string(), z.string(), z.string(), z.number()]));

const toEntries = (records: Array<{ due?: unknown }>): DueEntry[] =>
  DueListSchema.parse(records[0]?.due ?? []).map(([userId, missionId, runOn, nextSlotAt]) => ({
    userId,
    missionId,
    runOn,
    nextSlotAt,
  }));

/** The JSON array of `entries` (a row set with the `due` columns), oldest slot first. */
const dueArray = (entries: string) =>
  `select coalesce(json_agg(json_build_array(user_id, mission_id, run_on, next_slot_at)
            order by next_slot_at), '[]'::json) as due from ${entries}`;

/**
 * Entries whose next slot is at or before `now`, oldest first, at most `limit` (read only).
 * Ordered by the indexed column, so the index gives the order.
 */
export async function listDue(
  runner: SqlRunner,
  options: { now: number; limit: number },
): Promise<DueEntry[]> {
  const records = await runner.query<{ due: unknown }>(
    dueArray(`(select user_id, mission_id, run_on, next_slot_at from due
       where next_slot_at is not null and next_slot_at <= $1::bigint
       order by due.next_slot_at limit $2::int) as listed`),
    [options.now, options.limit],
  );
  return toEntries(records);
}

/**
 * Takes due entries for this process: those due at `now` that nobody holds (a lease until
 * `now + leaseMs` under `holder`). An entry under a live lease is not taken again, not even by
 * its own holder; an expired lease (its holder died) is free. Entries of `coveredUserIds` are
 * left alone unless they run on the relay or are overdue by more than `graceMs`. Give them back
 * with `releaseDue`.
 *
 * On PostgreSQL a take is one call of the function `take_due` (migrate.ts): under a lock held
 * by one take at a time, instances sharing the database take in turn (a take of 1,000 of
 * 1,000,000 entries lasts about 5 ms), and each sees the leases of the takes before it. A take
 * is one row of `due_leases`: the holder, the lease's end and the keys of every entry taken
 * (decisions 0015 and 0018). On PGlite the leases live in this process (`leasesInProcess`,
 * decision 0012).
 */
export async function takeDue(
  runner: Pick<Database, 'kind' | 'query'>,
  options: TakeOptions,
): Promise<DueEntry[]> {
  if (runner.kind === 'pglite') return takeDueInProcess(runner, options);
  // One call, its own transaction: the function takes the lock, picks and leases (decision 0018).
  return toEntries(
    await runner.query<{ due: unknown }>(
      'select take_due($1::bigint, $2::int, $3::jsonb, $4::bigint, $5, $6::bigint) as due',
      [
        options.now,
        options.limit,
        jsonParam([...options.coveredUserIds]),
        options.graceMs,
        options.holder,
        options.now + options.leaseMs,
      ],
    ),
  );
}

interface TakeOptions {
  now: number;
  limit: number;
  holder: string;
  leaseMs: number;
  coveredUserIds: Iterable<string>;
  graceMs: number;
}

/**
 * Leases on PGlite, by database: `user_id/mission_id` → holder and end. PGlite's data folder is
 * open in one process only, so no other instance can be taking entries: a lease needs to live
 * only as long as this process, and writing it into each row taken (a thousand row updates in
 * PGlite's WebAssembly for a thousand entries) bought nothing. A process that dies takes its
 * leases with it, as an expired lease would.
 */
const leasesInProcess = new WeakMap<
  object,
  { leases: Map<string, { holder: string; until: number }>; taking: Promise<unknown> }
>();

/** One take at a time per database, so two takes never read the same free entries. */
function takeDueInProcess(runner: SqlRunner, options: TakeOptions): Promise<DueEntry[]> {
  let state = leasesInProcess.get(runner);
  if (!state)
    leasesInProcess.set(runner, (state = { leases: new Map(), taking: Promise.resolve() }));
  const { leases } = state;
  const taken = state.taking.then(() => takeFree(runner, leases, options));
  state.taking = taken.catch(() => undefined);
  return taken;
}

async function takeFree(
  runner: SqlRunner,
  leases: Map<string, { holder: string; until: number }>,
  options: TakeOptions,
): Promise<DueEntry[]> {
  for (const [key, lease] of leases) if (lease.until < options.now) leases.delete(key);
  // Read enough to skip every entry under a live lease and still fill `limit`. A lease written
  // into a row by an earlier version (taken_until) is honoured until it ends.
  const records = await runner.query<{ due: unknown }>(
    dueArray(`(select user_id, mission_id, run_on, next_slot_at from due
       where next_slot_at is not null and next_slot_at <= $1::bigint
         and (taken_until is null or taken_until < $1::bigint)
         and (run_on = 'relay' or next_slot_at < $1::bigint - $4::bigint
              or user_id not in (select jsonb_array_elements_text($3::jsonb)))
       order by next_slot_at
       limit $2::int) as free`),
    [
      options.now,
      options.limit + leases.size,
      jsonParam([...options.coveredUserIds]),
      options.graceMs,
    ],
  );
  const taken = toEntries(records)
    .filter((entry) => !leases.has(rowKeyOf(entry)))
    .slice(0, options.limit);
  for (const entry of taken)
    leases.set(rowKeyOf(entry), {
      holder: options.holder,
      until: options.now + options.leaseMs,
    });
  return taken;
}

const rowKeyOf = (entry: { userId: string; missionId: string }) =>
  `${entry.userId}/${entry.missionId}`;

/**
 * Gives back every entry `holder` took with `takeDue` (a runner's tick, at its end); on
 * PostgreSQL it also deletes the leases that ran out, whoever held them (a process that died).
 */
export async function releaseDue(
  runner: SqlRunner,
  options: { holder: string; now: number },
): Promise<void> {
  if (runner.kind === 'pglite') {
    const leases = leasesInProcess.get(runner)?.leases;
    for (const [key, lease] of leases ?? [])
      if (lease.holder === options.holder || lease.until < options.now) leases?.delete(key);
    return;
  }
  await runner.query('delete from due_leases where holder = $1 or until < $2::bigint', [
    options.holder,
    options.now,
  ]);
}
