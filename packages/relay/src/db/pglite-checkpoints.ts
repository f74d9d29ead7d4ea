/**
 * Checkpoints for PGlite. PGlite runs PostgreSQL in single-user mode, which has no checkpointer:
 * nothing checkpoints until the database is closed. The write-ahead log then grows for as long
 * as the relay runs (its files are removed or reused only after a checkpoint), and a relay that
 * stops without closing its database (killed, out of memory, a power cut) replays the whole log
 * written since it started when it opens again. Measured on PGlite on disk: 820 MB of log took
 * 5.9 s to replay on opening, against 0.6 s for the same database closed cleanly, and a
 * `CHECKPOINT` took 76 ms after 160 MB of log and 214 ms after 820 MB (it writes the changed
 * pages, at most `shared_buffers` of them).
 *
 * So the relay asks for one itself, as PostgreSQL's checkpointer would (`max_wal_size`,
 * `checkpoint_timeout`): when the log has grown by `everyBytes` since the last checkpoint, or
 * when `everyMs` have passed and anything was written since. It is a statement like any other:
 * PGlite runs it between transactions, never inside one.
 */
import type { Database } from './database.ts';
import { startRepeating } from './repeating.ts';

export interface CheckpointPolicy {
  /** Log written since the last checkpoint that makes the next one due. */
  everyBytes: number;
  /** Time since the last checkpoint that makes the next one due, when anything was written. */
  everyMs: number;
  /** How often the log's position is looked at (one small query). */
  checkMs: number;
}

export const defaultCheckpointPolicy: CheckpointPolicy = {
  everyBytes: 256 * 1024 * 1024,
  everyMs: 5 * 60_000,
  checkMs: 30_000,
};

/** The log written since the last checkpoint's redo point, in bytes. */
const positionSql = `select pg_wal_lsn_diff(pg_current_wal_lsn(), redo_lsn)::float8 as behind
  from pg_control_checkpoint()`;

/**
 * At most this much log follows a checkpoint with nothing written since: its own record and a
 * note of the running transactions (120–210 bytes measured). A write adds more: its records, and
 * the whole page (8 kB) the first time a page changes after a checkpoint.
 */
const quietBytes = 1024;

/** Starts checking `db` every `policy.checkMs`; `stop()` ends it and waits for a check running. */
export function startCheckpoints(
  db: Database,
  policy: CheckpointPolicy = defaultCheckpointPolicy,
): { stop(): Promise<void> } {
  let lastAt = Date.now();
  return startRepeating(policy.checkMs, async (repeating) => {
    const [position] = await db.query<{ behind: number }>(positionSql);
    if (!position) return;
    const due =
      position.behind >= policy.everyBytes ||
      (Date.now() - lastAt >= policy.everyMs && position.behind > quietBytes);
    if (!due || repeating.stopped) return;
    await db.query('checkpoint');
    lastAt = Date.now();
  });
}
