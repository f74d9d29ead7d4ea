/**
 * `npm run bench -w @baton/relay [-- --quick] [-- --only=overload,neighbour] [-- --write-docs]`:
 * what one relay does on this machine, on PGlite and on PostgreSQL (a bench database of its own,
 * see bench-postgres.ts):
 *   sync        push ingest (changes/s through POST /v1/sync/push, and as a share of a raw
 *               INSERT of the same rows) and pull (changes/s, pages of 1,000); PGlite in memory
 *   due         time to find the due work among 100k missions of which 100 are due
 *   planning    plans/s with a scripted model answering in 200 ms, 32 calls at once, for one
 *               user with 200 due missions and for 50 users with 4 each
 *   live        connections of one user opened one after another, each saying hello (PGlite)
 *   overload    200 req/s offered open-loop to a relay process (PGlite on disk in a temp
 *               DATA_DIR, as `npm start` runs it, or PostgreSQL) — see measure-overload.ts
 *   neighbour   bob's /me + pull alone, then while alice floods — see measure-neighbour.ts
 * `--storage=pglite` (or `postgres`) measures one storage. `--quick` runs shorter loads (a few seconds each). `--write-docs` adds the load figures, with
 * date, load average and commit, to docs/benchmarks.md. Everything it writes is dropped at the
 * end. BENCH_ARGS in the environment is read as more arguments (`npm run bench` at the root
 * runs two scripts, so flags after `--` reach only the last).
 */
import type { Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { openPglite } from '../src/db/pglite-database.ts';
import { openPostgres } from '../src/db/postgres-database.ts';
import { openBenchPostgres, type BenchPostgres } from './bench-postgres.ts';
import { startBenchRelay } from './bench-relay.ts';
import { measureDue } from './measure-due.ts';
import { measureLive } from './measure-live.ts';
import { measureNeighbour } from './measure-neighbour.ts';
import { measureOverload } from './measure-overload.ts';
import { measurePlanning, modelDelayMs } from './measure-planning.ts';
import { measureSync } from './measure-sync.ts';
import { startModelProcess } from './model-process.ts';
import { createRecorder } from './record.ts';
import { loadTable, runContext, writeBenchDoc, type LoadFigures } from './summary.ts';

const args = [...process.argv.slice(2), ...(process.env.BENCH_ARGS ?? '').split(/\s+/)];
const quick = args.includes('--quick');
const only = args
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const runs = (group: string) => !only || only.includes(group);
const storages = args
  .find((arg) => arg.startsWith('--storage='))
  ?.slice('--storage='.length)
  .split(',') ?? ['pglite', 'postgres'];
const load = quick
  ? { rate: 200, seconds: 4, neighbourSeconds: 3, liveConnections: 100 }
  : { rate: 200, seconds: 15, neighbourSeconds: 8, liveConnections: 500 };
const floodWorkers = 30;
const loadUsers = 20;

const recorder = createRecorder();
const context = runContext();
process.stdout.write(`${context}${quick ? ' (quick)' : ''}\n`);
const loadFigures: LoadFigures[] = [];

/** Each measure on a fresh, migrated database, closed afterwards. */
async function measureAll(name: string, open: () => Promise<Database>, modelUrl: string) {
  const measures: Array<[string, (db: Database) => Promise<void>]> = [
    ['sync', (db) => measureSync({ name, db, recorder })],
    ['due', (db) => measureDue({ name, db, recorder })],
    ['planning', (db) => measurePlanning({ name, db, recorder, modelUrl, users: 1 })],
    ['planning', (db) => measurePlanning({ name, db, recorder, modelUrl, users: 50 })],
  ];
  if (name === 'pglite')
    measures.push([
      'live',
      (db) => measureLive({ name, db, recorder, connections: load.liveConnections }),
    ]);
  for (const [group, measure] of measures) {
    if (!runs(group)) continue;
    const db = await open();
    let handedOver = false;
    try {
      await migrate(db);
      // The live measure's relay closes the database itself.
      handedOver = group === 'live';
      await measure(db);
    } finally {
      if (!handedOver) await db.close();
    }
  }
}

/** Overload, then noisy neighbour, against one relay process on this storage. */
async function measureLoad(name: string, postgresUrl?: string): Promise<void> {
  if (!runs('overload') && !runs('neighbour')) return;
  const users = Array.from({ length: loadUsers }, (_, index) => `load${index}`);
  const relay = await startBenchRelay({
    ...(postgresUrl ? { postgresUrl } : {}),
    userNames: [...users, 'alice', 'bob'],
  });
  const figures: LoadFigures = { storage: name };
  try {
    if (runs('overload')) {
      const overload = await measureOverload({
        name,
        url: relay.url,
        users: users.map((user) => relay.users.get(user)!),
        rate: load.rate,
        seconds: load.seconds,
        recorder,
      });
      figures.overload = { rate: load.rate, seconds: load.seconds, figures: overload };
    }
    if (runs('neighbour'))
      figures.neighbour = await measureNeighbour({
        name,
        url: relay.url,
        bob: relay.users.get('bob')!,
        alice: relay.users.get('alice')!,
        seconds: load.neighbourSeconds,
        floodWorkers,
        recorder,
      });
  } finally {
    await relay.close();
  }
  loadFigures.push(figures);
}

const needsModel = runs('planning');
const model = needsModel ? await startModelProcess({ delayMs: modelDelayMs }) : undefined;
let postgres: BenchPostgres | undefined;
try {
  if (storages.includes('pglite')) {
    await measureAll('pglite', () => openPglite({ dataDir: undefined }), model?.url ?? '');
    await measureLoad('pglite');
  }
  if (storages.includes('postgres')) postgres = await openBenchPostgres();
  if (postgres) {
    const url = postgres.url;
    await measureAll(
      'postgres',
      async () => {
        const db = openPostgres({ url });
        // Each measure starts from empty tables.
        await migrate(db);
        await db.query('truncate users, tokens, changes, rows, claims, devices, due, user_usage');
        return db;
      },
      model?.url ?? '',
    );
    await measureLoad('postgres', url);
  }
} finally {
  await postgres?.close();
  await model?.close();
}

if (loadFigures.length > 0) {
  const table = loadTable(loadFigures);
  process.stdout.write(`\n${table}\n\n`);
  if (args.includes('--write-docs')) {
    const lines = recorder.results.map(
      (result) => `${result.database.padEnd(10)} ${result.measure.padEnd(58)} ${result.value}`,
    );
    const path = writeBenchDoc({
      title: `Load: overload and noisy neighbour${quick ? ' (quick)' : ''}`,
      context,
      table,
      lines,
    });
    process.stdout.write(`wrote ${path}\n`);
  }
}
process.stdout.write(
  `${JSON.stringify({ bench: '@baton/relay', context, results: recorder.results })}\n`,
);
