import type { Database } from './database.ts';

/**
 * The schema. Every statement is idempotent; `migrate` runs them in one transaction under an
 * advisory lock, so instances starting together on one PostgreSQL do not race.
 * Times are epoch milliseconds (bigint). `rows` holds merged state; `change_pages` is the
 * append-only log, whose numbers per user are the pull cursor; `due` indexes missions by their
 * next unplanned slot.
 */
/** The advisory lock a take of due entries holds on PostgreSQL (`take_due`, decision 0018). */
export const takeDueLock = 7_361_290_002;

export const schemaStatements: readonly string[] = [
  `create table if not exists users (
     id text primary key,
     name text not null unique,
     created_at bigint not null)`,
  `create table if not exists tokens (
     hash text primary key,
     user_id text not null references users (id) on delete cascade,
     created_at bigint not null)`,
  // A token's public id (named in `token revoke`), an optional name, and when it was last used.
  // Tokens from before get an id derived from their hash (it reveals nothing of the secret).
  `alter table tokens add column if not exists id text`,
  `alter table tokens add column if not exists name text`,
  `alter table tokens add column if not exists last_used_at bigint`,
  `update tokens set id = 'tok_' || substr(hash, 1, 16) where id is null`,
  `alter table tokens alter column id set not null`,
  `create unique index if not exists tokens_id on tokens (id)`,
  `create index if not exists tokens_user on tokens (user_id)`,
  `create table if not exists changes (
     seq bigint generated always as identity primary key,
     user_id text not null,
     id text not null,
     table_name text not null,
     row_id text not null,
     hlc text not null,
     body jsonb not null,
     committed_at bigint not null,
     unique (user_id, id))`,
  `create index if not exists changes_user_seq on changes (user_id, seq)`,
  // Each user's own sequence, the pull cursor: one user's pushes never move another's cursor.
  // Logs from before it are numbered once, in their commit order.
  `alter table changes add column if not exists user_seq bigint`,
  `update changes set user_seq = numbered.n
     from (select seq, row_number() over (partition by user_id order by seq) as n
             from changes where user_id in (select distinct user_id from changes where user_seq is null)) as numbered
    where changes.seq = numbered.seq and changes.user_seq is null`,
  `alter table changes alter column user_seq set not null`,
  `create unique index if not exists changes_user_user_seq on changes (user_id, user_seq)`,
  `create index if not exists changes_user_hlc on changes (user_id, hlc)`,
  // The log in pages (change-log.ts, decision 0021): the changes of one append as one row of
  // JSON text, numbered `first_seq`..`last_seq` in the user's sequence, and each change's id
  // once in `change_ids`. `changes` above held one row per change with five keys to write; it
  // is kept empty, for the logs of earlier relays and their backups, which are moved into pages
  // (`foldStatements`, here and after a restore).
  `create table if not exists change_pages (
     user_id text not null,
     last_seq bigint not null,
     first_seq bigint not null,
     newest_hlc text collate "C" not null,
     bytes bigint not null,
     committed_at bigint not null,
     shared_seq bigint,
     body text not null,
     primary key (user_id, last_seq))`,
  `create index if not exists change_pages_newest on change_pages (user_id, newest_hlc)`,
  // A page's text (about 290 kB for 1,000 new tasks) is compressed when written: with lz4 where
  // the server has it (PostgreSQL built with it, as Debian's is; PGlite is not), 4.5 ms a page
  // against 5.8 ms with the default pglz, for a log about as large. Pages written before keep
  // their compression; both read alike.
  `do $$ begin
     if exists (select 1 from pg_settings
                 where name = 'default_toast_compression' and 'lz4' = any (enumvals)) then
       alter table change_pages alter column body set compression lz4;
     end if;
   end $$`,
  `create table if not exists change_ids (
     user_id text not null,
     id text not null,
     primary key (user_id, id))`,
  ...foldStatements(),
  `create table if not exists rows (
     user_id text not null,
     table_name text not null,
     row_id text not null,
     fields jsonb not null,
     stamps jsonb not null,
     primary key (user_id, table_name, row_id))`,
  // Lists filtered on these fields (a mission's iterations and proposals, an iteration's
  // proposals) read through these instead of scanning the user's table (rows-table.ts).
  `drop index if exists rows_iterations_by_mission`,
  // Partial: only rows that have the field (iterations, proposals) are in them, so a push of tasks
  // or notes does not write two index entries per row for nothing. A filter `fields ->> f = $n`
  // implies `is not null`, so those lists still read through them.
  `drop index if exists rows_by_mission`,
  `drop index if exists rows_by_iteration`,
  `create index if not exists rows_with_mission on rows (user_id, table_name, (fields ->> 'missionId'))
     where (fields ->> 'missionId') is not null`,
  `create index if not exists rows_with_iteration on rows (user_id, table_name, (fields ->> 'iterationId'))
     where (fields ->> 'iterationId') is not null`,
  `create table if not exists claims (
     user_id text not null,
     iteration_id text not null,
     holder text not null,
     expires_at bigint not null,
     primary key (user_id, iteration_id))`,
  // Claims granted on the iteration id so far (one per model round): the budget charges the
  // rounds no iteration row records (engine claim-rule.ts).
  `alter table claims add column if not exists grants integer not null default 0`,
  // When the lease was last granted (the relay's clock): a lease granted after its holder's
  // live connection ended is not released with it (sql-claims.ts `releaseUserHolder`).
  `alter table claims add column if not exists granted_at bigint`,
  // Rounds the iteration row recorded that no claim granted (attempts made while the relay was
  // out of reach): they pay for none of the grants (engine claim-rule.ts `Lease`).
  `alter table claims add column if not exists unclaimed_rounds integer not null default 0`,
  // What each user stores (the quota): counted from the log on the user's first push after it.
  `create table if not exists user_usage (
     user_id text primary key,
     changes bigint not null,
     bytes bigint not null)`,
  `create table if not exists devices (
     user_id text not null,
     device_id text not null,
     name text,
     last_seen bigint not null,
     primary key (user_id, device_id))`,
  `create table if not exists due (
     user_id text not null,
     mission_id text not null,
     run_on text not null,
     next_slot_at bigint,
     taken_by text,
     taken_until bigint,
     primary key (user_id, mission_id))`,
  `alter table due add column if not exists taken_by text`,
  `alter table due add column if not exists taken_until bigint`,
  `create index if not exists due_next_slot on due (next_slot_at) where next_slot_at is not null`,
  // Taking and releasing entries rewrites only unindexed columns: with room left on each page
  // the new row version stays on it (a HOT update) and no index is written. Applies to pages
  // written from now on.
  `alter table due set (fillfactor = 70)`,
  // Due entries taken on PostgreSQL (due-index.ts `takeDue`): one row per take, with the keys of
  // every entry it took, until the taker gives them back or the lease ends. The `taken_by` and
  // `taken_until` of `due` are leases an earlier version wrote into the rows, honoured until
  // they end. PGlite keeps its leases in the process and leaves this table empty.
  `create table if not exists due_leases (
     id bigint generated always as identity primary key,
     holder text not null,
     until bigint not null,
     user_ids text[] not null,
     mission_ids text[] not null)`,
  // A take of 1,000 entries holds about 40 kB of keys, read once or twice and soon deleted: kept
  // out of line uncompressed, the lease's insert took 2.0 ms instead of 2.8 ms with compression.
  `alter table due_leases alter column user_ids set storage external`,
  `alter table due_leases alter column mission_ids set storage external`,
  // A take of due entries on PostgreSQL (due-index.ts `takeDue`, decision 0018), one call: under
  // a lock held by one take at a time, it picks the free entries, left out those under a live
  // lease, and writes the lease of what it picked. Each statement of a PL/pgSQL function looks
  // afresh (read committed), so the pick, made once the lock is held, sees every lease written
  // by the takes before it. Returns the entries taken as `due-index.ts` reads them.
  `create or replace function take_due(
     p_now bigint, p_limit int, p_covered jsonb, p_grace bigint, p_holder text, p_until bigint)
   returns json language plpgsql volatile as $take$
   declare
     taken json;
   begin
     perform pg_advisory_xact_lock(${takeDueLock});
     with picked as (
       select user_id, mission_id, run_on, next_slot_at from due
        where next_slot_at is not null and next_slot_at <= p_now
          and (taken_until is null or taken_until < p_now)
          and (run_on = 'relay' or next_slot_at < p_now - p_grace
               or user_id not in (select jsonb_array_elements_text(p_covered)))
          and (user_id, mission_id) not in (
            select leased.user_id, leased.mission_id
              from due_leases,
                   unnest(due_leases.user_ids, due_leases.mission_ids) as leased (user_id, mission_id)
             where due_leases.until >= p_now)
        order by next_slot_at
        limit p_limit),
     leased as (
       insert into due_leases (holder, until, user_ids, mission_ids)
       select p_holder, p_until, array_agg(user_id order by next_slot_at),
              array_agg(mission_id order by next_slot_at)
         from picked
       having count(*) > 0)
     select coalesce(json_agg(json_build_array(user_id, mission_id, run_on, next_slot_at)
                       order by next_slot_at), '[]'::json)
       into taken from picked;
     return taken;
   end
   $take$`,
  // Each user's notification webhook (notify/webhook-store.ts) and its last delivery.
  `create table if not exists webhooks (
     user_id text primary key references users (id) on delete cascade,
     url text not null,
     format text not null,
     app_url text not null,
     updated_at bigint not null,
     last_delivery jsonb)`,
  // The relay's VAPID key pair (one row) and each user's Web Push subscriptions (notify/push-store.ts).
  `create table if not exists push_keys (
     id integer primary key,
     public_key text not null,
     private_key text not null,
     created_at bigint not null)`,
  `create table if not exists push_subscriptions (
     user_id text not null references users (id) on delete cascade,
     endpoint text not null,
     p256dh text not null,
     auth text not null,
     created_at bigint not null,
     primary key (user_id, endpoint))`,
];

/**
 * Moves the changes of `changes` (the log as earlier relays kept it, one row per change, or as a
 * backup of one restores it) into pages: each change a page of its own, keeping its numbers, its
 * id in `change_ids`. Nothing to do when `changes` is empty.
 */
export function foldStatements(): string[] {
  return [
    `insert into change_ids (user_id, id) select user_id, id from changes on conflict do nothing`,
    `insert into change_pages
       (user_id, last_seq, first_seq, newest_hlc, bytes, committed_at, shared_seq, body)
     select user_id, user_seq, user_seq, hlc, octet_length(body::text), committed_at, seq,
            '[' || body::text || ']'
       from changes
     on conflict do nothing`,
    `delete from changes`,
  ];
}

const migrationLock = 7_361_290_001;

export async function migrate(database: Database): Promise<void> {
  await database.transaction(async (runner) => {
    await runner.query(`select pg_advisory_xact_lock(${migrationLock})`);
    for (const statement of schemaStatements) await runner.query(statement);
  });
}
