/**
 * Vacuum for PGlite. PGlite runs PostgreSQL in single-user mode, which has no autovacuum:
 * nothing vacuums a table unless asked. An updated or deleted row's old version then stays in
 * the table and its indexes for good, and its space is never used again. Measured on PGlite on
 * disk: 2,000 rows of `rows` (0.9 MB), each updated 300 times, took 181 MB; after one `VACUUM`
 * (0.5 s) 50 more updates of each took no more space. On a running relay every plan updates its
 * mission's due entry and a claim, every decision and every edit a device pushes updates a row,
 * and requests update their token's last use: the data folder grew for as long as the relay
 * ran, and scans of those tables read the dead versions too.
 *
 * So the relay vacuums as autovacuum would, with its default thresholds: every `checkMs` one
 * query reads the tables' counts (`pg_stat_user_tables`), and a table is vacuumed once its dead
 * rows pass 50 + 20 % of its live ones, or once its oldest transaction id is older than
 * `autovacuum_freeze_max_age` (vacuum then freezes its old rows, which PostgreSQL needs before
 * its transaction ids wrap around). One table at a time; like any other statement, PGlite runs
 * each between transactions, never inside one. A vacuum of `rows` with 41,000 of its 200,000
 * rows dead took 26 ms.
 *
 * The counts start from zero each time PGlite opens (it keeps them only while open), so rows
 * left dead by an earlier run would wait until as many died again. The first check after
 * opening therefore vacuums the whole database, the system's tables with it; after that first
 * vacuum of a table, the next ones skip the pages nothing changed on since. A database of
 * 136 MB (200,000 changes and their rows) took 349 ms the first time, 60–90 ms at later opens.
 *
 * Not `ANALYZE`, which autovacuum also runs: on PGlite it holds the relay's only thread while it
 * reads a sample of up to 30,000 pages (0.3 s for 200,000 rows of `rows`, and pushes of a large
 * import waited up to 1 s for it), and the relay's statements are written to be planned well
 * without statistics (change-log.ts, rows-table.ts), as PGlite has always run them.
 */
import type { Database } from './database.ts';
import { startRepeating } from './repeating.ts';

export interface VacuumPolicy {
  /** How often the tables' counts are read (one query). */
  checkMs: number;
}

export const defaultVacuumPolicy: VacuumPolicy = { checkMs: 60_000 };

/** The tables to vacuum (autovacuum's default thresholds), most dead rows first. */
const dueSql = `select format('%I.%I', s.schemaname, s.relname) as name
  from pg_stat_user_tables s join pg_class c on c.oid = s.relid
  where s.n_dead_tup > 50 + 0.2 * greatest(s.n_live_tup, 0)
     or age(c.relfrozenxid) > current_setting('autovacuum_freeze_max_age')::bigint
  order by s.n_dead_tup desc`;

/** Starts checking `db` every `policy.checkMs`; `stop()` ends it and waits for a pass running. */
export function startVacuums(
  db: Database,
  policy: VacuumPolicy = defaultVacuumPolicy,
): { stop(): Promise<void> } {
  let opened = true;
  return startRepeating(policy.checkMs, async (repeating) => {
    if (opened) {
      await db.query('vacuum');
      opened = false;
      return;
    }
    const due = await db.query<{ name: string }>(dueSql);
    for (const table of due) {
      if (repeating.stopped) return;
      // A table dropped since the counts were read is passed over; the others still run.
      await db.query(`vacuum ${table.name}`).catch(() => undefined);
    }
  });
}
