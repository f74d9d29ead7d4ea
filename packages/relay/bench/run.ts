/**
 * `npm run bench -w @baton/relay`: what one relay does on this machine, on PGlite (in memory)
 * and on PostgreSQL (a bench database of its own, see bench-postgres.ts):
 *   push ingest   changes/s through POST /v1/sync/push, and as a share of a raw INSERT of the
 *                 same rows into a changes-shaped table
 *   pull          changes/s through GET /v1/sync/pull in pages of 1,000
 *   due query     time to find the due work among 100k missions of which 100 are due
 *   planning      plans/s with a scripted model answering in 200 ms, 32 calls at once, for one
 *                 user with 200 due missions and for 50 users with 4 each
 * Everything it writes is dropped at the end.
 */
import type { Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { openPglite } from '../src/db/pglite-database.ts';
import { openPostgres } from '../src/db/postgres-database.ts';
import { openBenchPostgres } from './bench-postgres.ts';
import { measureDue } from './measure-due.ts';
import { measurePlanning, modelDelayMs } from './measure-planning.ts';
import { measureSync } from './measure-sync.ts';
import { startModelProcess } from './model-process.ts';
import { createRecorder } from './record.ts';

const recorder = createRecorder();
const model = await startModelProcess({ delayMs: modelDelayMs });

/** Each measure on a fresh, migrated database, closed afterwards. */
async function measureAll(name: string, open: () => Promise<Database>): Promise<void> {
  const measures = [
    measureSync,
    measureDue,
    (options: Parameters<typeof measurePlanning>[0]) => measurePlanning({ ...options, users: 1 }),
    (options: Parameters<typeof measurePlanning>[0]) => measurePlanning({ ...options, users: 50 }),
  ];
  for (const measure of measures) {
    const db = await open();
    try {
      await migrate(db);
      await measure({ name, db, recorder, modelUrl: model.url, users: 1 });
    } finally {
      await db.close();
    }
  }
}

try {
  await measureAll('pglite', () => openPglite({ dataDir: undefined }));
  const postgres = await openBenchPostgres();
  if (postgres) {
    try {
      await measureAll('postgres', async () => {
        const db = openPostgres({ url: postgres.url });
        // Each measure starts from empty tables.
        await migrate(db);
        await db.query('truncate users, tokens, changes, rows, claims, devices, due');
        return db;
      });
    } finally {
      await postgres.close();
    }
  }
} finally {
  await model.close();
}
process.stdout.write(`${JSON.stringify({ bench: '@baton/relay', results: recorder.results })}\n`);
