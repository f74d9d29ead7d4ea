import { migrate } from '../src/db/migrate.ts';
import { openPostgres } from '../src/db/postgres-database.ts';
import { openPglite } from '../src/db/pglite-database.ts';
import { listDue, takeDue } from '../src/store/due-index.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const kind = process.argv[2] ?? 'pg';
const db = kind === 'pg' ? openPostgres({ url: process.env.TEST_DATABASE_URL! }) : await openPglite({ dataDir: mkdtempSync(join(tmpdir(), 'due-')) });
await migrate(db);
await db.query('delete from due');
const now = Date.now();
const n = Number(process.env.N ?? 1000000);
await db.query(`insert into due (user_id, mission_id, run_on, next_slot_at)
     select 'bench_user_' || (n % 10000), 'bench_m_' || n, 'any',
            case when n % ${n / 1000} = 0 then $1::bigint - 60000 - n else $1::bigint + 86400000 + n end
     from generate_series(1, ${n}) as n`, [now]);
await db.query('analyze due');
for (let i = 0; i < 4; i++) {
  const at = now + i * 120000;
  let t = performance.now();
  await listDue(db, { now: at, limit: 1000 });
  const list = performance.now() - t;
  t = performance.now();
  await db.query(`select user_id, mission_id, run_on, next_slot_at::float8 as next_slot_at from due where next_slot_at is not null and next_slot_at <= $1::bigint order by due.next_slot_at limit $2::int`, [at, 1000]);
  const listRaw = performance.now() - t;
  t = performance.now();
  const ex = await db.query<any>(`explain analyze select user_id, mission_id, run_on, next_slot_at::float8 as next_slot_at from due where next_slot_at is not null and next_slot_at <= $1::bigint order by due.next_slot_at limit $2::int`, [at, 1000]);
  const listExplain = ex.map((r) => r['QUERY PLAN']).find((l: string) => l.startsWith('Execution'));
  t = performance.now();
  await takeDue(db, { now: at, limit: 1000, holder: 'h', leaseMs: 60000, coveredUserIds: [], graceMs: 0 });
  const take = performance.now() - t;
  console.log(`list ${list.toFixed(1)} (raw query ${listRaw.toFixed(1)}; ${listExplain}) take ${take.toFixed(1)}`);
}
await db.query('delete from due');
await db.close();
