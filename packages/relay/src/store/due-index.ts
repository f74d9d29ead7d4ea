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
import { jsonParam, type SqlRunner } from '../db/database.ts';
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

/** A `due` record as the queries below return it. */
const DueRecordSchema = z.object({
  user_id: z.string(),
  mission_id: z.string(),
  run_on: z.string(),
  next_slot_at: z.number(),
});

const toEntry = (record: unknown): DueEntry => {
  const parsed = DueRecordSchema.parse(record);
  return {
    userId: parsed.user_id,
    missionId: parsed.mission_id,
    runOn: parsed.run_on,
    nextSlotAt: parsed.next_slot_at,
  };
};

/**
 * Entries whose next slot is at or before `now`, oldest first, at most `limit` (read only).
 * Ordered by the column, not by its `::float8` alias, so the index gives the order.
 */
export async function listDue(
  runner: SqlRunner,
  options: { now: number; limit: number },
): Promise<DueEntry[]> {
  const records = await runner.query(
    `select user_id, mission_id, run_on, next_slot_at::float8 as next_slot_at from due
     where next_slot_at is not null and next_slot_at <= $1::bigint
     order by due.next_slot_at limit $2::int`,
    [options.now, options.limit],
  );
  return records.map(toEntry);
}

/**
 * Takes due entries for this process: those due at `now` that nobody holds (a lease until
 * `now + leaseMs` under `holder`), skipping rows another instance is taking at this very moment
 * (`for update skip locked`), so instances sharing one PostgreSQL split the work instead of
 * queueing on it. An entry under a live lease is not taken again, not even by its own holder;
 * an expired lease (its holder died) is free. Entries of `coveredUserIds` are left alone unless
 * they run on the relay or are overdue by more than `graceMs`. Give them back with `releaseDue`.
 * The update finds each picked row by its physical place (`ctid`), which cannot move while the
 * row is locked, instead of looking it up again by key.
 */
export async function takeDue(
  runner: SqlRunner & { readonly kind?: 'pglite' | 'postgres' },
  options: {
    now: number;
    limit: number;
    holder: string;
    leaseMs: number;
    coveredUserIds: Iterable<string>;
    graceMs: number;
  },
): Promise<DueEntry[]> {
  // PGlite serves one process and runs one statement at a time: nobody else can be taking the
  // same rows, so they are not locked first (each lock is one more write of every row taken).
  const lockPicked = runner.kind === 'pglite' ? '' : 'for update skip locked';
  const records = await runner.query(
    `with picked as (
       select ctid as row_at from due
       where next_slot_at is not null and next_slot_at <= $1::bigint
         and (taken_until is null or taken_until < $1::bigint)
         and (run_on = 'relay' or next_slot_at < $1::bigint - $6::bigint
              or user_id not in (select jsonb_array_elements_text($5::jsonb)))
       order by next_slot_at
       limit $2::int
       ${lockPicked})
     update due set taken_by = $3, taken_until = $1::bigint + $4::bigint
     from picked where due.ctid = picked.row_at
     returning due.user_id, due.mission_id, due.run_on, due.next_slot_at::float8 as next_slot_at`,
    [
      options.now,
      options.limit,
      options.holder,
      options.leaseMs,
      jsonParam([...options.coveredUserIds]),
      options.graceMs,
    ],
  );
  return records.map(toEntry).sort((a, b) => a.nextSlotAt - b.nextSlotAt);
}

/** Gives back entries taken with `takeDue` (only those `holder` still holds). */
export async function releaseDue(
  runner: SqlRunner,
  options: { userId: string; missionIds: Iterable<string>; holder: string },
): Promise<void> {
  await runner.query(
    `update due set taken_by = null, taken_until = null
     where user_id = $1 and taken_by = $3 and mission_id in (select jsonb_array_elements_text($2::jsonb))`,
    [options.userId, jsonParam([...options.missionIds]), options.holder],
  );
}
