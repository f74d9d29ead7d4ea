/**
 * Finding due work: `missions` missions in the due index (1,000,000 in a full run), 1,000 of them
 * due, spread over 10,000 users. `listDue(1,000)` and `takeDue(1,000)` (which leases what it
 * takes), each the median of 11 tries, as a running relay calls them on every tick; the first
 * try, which runs cold, is printed beside it. Each take is a minute after the last one's lease
 * ran out, so it takes the same 1,000 again.
 */
import type { Database } from '../src/db/database.ts';
import { listDue, takeDue } from '../src/store/due-index.ts';
import type { Figures } from './figures.ts';
import { type Recorder } from './record.ts';

const due = 1_000;
const tries = 11;

/** What issue 10 measured from outside with 1,000,000 missions. */
const baselines: Record<string, { take: string; list: string }> = {
  pglite: { take: '50.4 ms', list: '19.8 ms' },
  postgres: { take: '25.8 ms', list: '4.4 ms' },
};

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function measureDue(options: {
  name: string;
  db: Database;
  recorder: Recorder;
  figures: Figures;
  missions: number;
}): Promise<void> {
  const { name, db, recorder, missions } = options;
  const now = Date.now();
  const every = missions / due;
  await db.query(
    `insert into due (user_id, mission_id, run_on, next_slot_at)
     select 'bench_user_' || (n % 10000), 'bench_m_' || n, 'any',
            case when n % $2::int = 0 then $1::bigint - 60000 - n else $1::bigint + 86400000 + n end
     from generate_series(1, $3::int) as n`,
    [now, every, missions],
  );
  try {
    await db.query('analyze due');
    const listMs: number[] = [];
    const takeMs: number[] = [];
    for (let attempt = 0; attempt < tries; attempt += 1) {
      const at = now + attempt * 120_000;
      let started = performance.now();
      const listed = await listDue(db, { now: at, limit: due });
      listMs.push(performance.now() - started);
      started = performance.now();
      const taken = await takeDue(db, {
        now: at,
        limit: due,
        holder: 'bench-1',
        leaseMs: 60_000,
        coveredUserIds: [],
        graceMs: 0,
      });
      takeMs.push(performance.now() - started);
      if (listed.length !== due || taken.length !== due)
        throw new Error(`expected ${due} due, listed ${listed.length}, took ${taken.length}`);
    }
    const of = `${due.toLocaleString('en')} due of ${missions.toLocaleString('en')}`;
    const first = (values: number[]) => `first try ${values[0]!.toFixed(1)} ms`;
    recorder.record(
      name,
      `due query: listDue (${of})`,
      `${median(listMs).toFixed(1)} ms (${first(listMs)})`,
    );
    recorder.record(
      name,
      `due query: takeDue (${of})`,
      `${median(takeMs).toFixed(1)} ms (${first(takeMs)})`,
    );
    options.figures.add({
      storage: name,
      figure: `due work, ${of} missions: takeDue / listDue`,
      thisRun: `${median(takeMs).toFixed(1)} ms / ${median(listMs).toFixed(1)} ms`,
      baseline: `${baselines[name]?.take ?? '–'} / ${baselines[name]?.list ?? '–'}`,
      goal: '< 10 ms each',
    });
  } finally {
    await db.query("delete from due where mission_id like 'bench_m_%'");
  }
}
