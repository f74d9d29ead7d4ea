/** Finding due work: 100,000 missions in the due index, 100 of them due. */
import type { Database } from '../src/db/database.ts';
import { listDue, takeDue } from '../src/store/due-index.ts';
import { secondsSince, type Recorder } from './record.ts';

export async function measureDue(options: {
  name: string;
  db: Database;
  recorder: Recorder;
}): Promise<void> {
  const { name, db, recorder } = options;
  const now = Date.now();
  await db.query(
    `insert into due (user_id, mission_id, run_on, next_slot_at)
     select 'bench_user_' || (n % 1000), 'bench_m_' || n, 'any',
            case when n % 1000 = 0 then $1::bigint - 60000 else $1::bigint + 3600000 end
     from generate_series(1, 100000) as n`,
    [now],
  );
  try {
    await db.query('analyze due');
    let started = performance.now();
    const listed = await listDue(db, { now, limit: 1_000 });
    recorder.record(
      name,
      `due query: list (${listed.length} due of 100k)`,
      `${(secondsSince(started) * 1_000).toFixed(1)} ms`,
    );
    started = performance.now();
    const taken = await takeDue(db, {
      now,
      limit: 1_000,
      holder: 'bench-1',
      leaseMs: 60_000,
      coveredUserIds: [],
      graceMs: 0,
    });
    recorder.record(
      name,
      `due query: take with skip locked (${taken.length} of 100k)`,
      `${(secondsSince(started) * 1_000).toFixed(1)} ms`,
    );
  } finally {
    await db.query("delete from due where mission_id like 'bench_m_%'");
  }
}
