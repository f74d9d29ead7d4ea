/**
 * `npm run bench -w @baton/relay [-- --quick] [--only=GROUPS] [--storage=NAMES] [--write-docs]`:
 * what one relay does on this machine, each figure beside its baseline (measured before) and
 * its goal. Storages: `pglite` (on disk in a temp DATA_DIR, as `npm start` runs it),
 * `pglite-memory`, `postgres` (a bench database of its own, see bench-postgres.ts). Groups:
 *   sync        push ingest through POST /v1/sync/push until the user holds 200,000 rows, beside a
 *               raw INSERT of the same rows; the rate near 1k rows vs near 100k; the slowest push;
 *               pull (pages of 1,000)
 *   due         listDue and takeDue of 1,000 due among 1,000,000 missions
 *   planning    plans/s, 800 due missions, 32 model calls at once: a 200 ms model for 1 user and
 *               for 50 users, an instant model for 1 user; a relay's second tick, its first beside;
 *               beside them, the same calls sent by the model client alone (the raw baseline)
 *   live        connections of one user opened one after another, each saying hello (PGlite)
 *   rss         the relay process's memory: idle, peak at 100,000 pushed changes, after restart
 *   overload    200 req/s offered open-loop to a relay process — see measure-overload.ts
 *   neighbour   bob's /me + pull alone, then while alice floods — see measure-neighbour.ts
 * `--quick` runs smaller sizes and shorter loads (20k rows, 100k missions, a few seconds of load).
 * `--write-docs` adds the table, with date, load average and commit, to docs/benchmarks.md.
 * Everything it writes is dropped at the end. BENCH_ARGS in the environment is read as more
 * arguments (`npm run bench` at the root runs several scripts, so flags after `--` reach only the
 * last).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { createFigures, figuresTable } from './figures.ts';
import { measureRss } from './measure-rss.ts';
import { loadTableRows, runContext, writeBenchDoc, type LoadFigures } from './summary.ts';
import { everyTable } from '../src/testing/test-database.ts';
import { limitHeapGrowth } from '../src/heap.ts';

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
  .split(',') ?? ['pglite', 'pglite-memory', 'postgres'];
const load = quick
  ? { rate: 200, seconds: 4, neighbourSeconds: 3, liveConnections: 100 }
  : { rate: 200, seconds: 15, neighbourSeconds: 8, liveConnections: 500 };
const sizes = quick
  ? { syncRows: 20_000, dueMissions: 100_000, rssChanges: 20_000 }
  : { syncRows: 200_000, dueMissions: 1_000_000, rssChanges: 100_000 };
const floodWorkers = 30;
const loadUsers = 20;

// The relay's process runs with its heap's growth limited (src/heap.ts); the measures made in
// this process run the same way.
limitHeapGrowth();

const recorder = createRecorder();
const figures = createFigures();
const context = runContext();
process.stdout.write(`${context}${quick ? ' (quick)' : ''}\n`);

interface Models {
  /** Answers after `modelDelayMs`, and at once. */
  slow: string;
  instant: string;
}

/** Each measure on a fresh, migrated database, closed afterwards. */
async function measureAll(name: string, open: () => Promise<Database>, models: Models | undefined) {
  const planning = (users: number, delay: number, modelUrl: string) => (db: Database) =>
    measurePlanning({ name, db, recorder, figures, modelUrl, users, modelDelayMs: delay });
  const measures: Array<[string, (db: Database) => Promise<void>]> = [
    ['sync', (db) => measureSync({ name, db, recorder, figures, total: sizes.syncRows })],
    ['due', (db) => measureDue({ name, db, recorder, figures, missions: sizes.dueMissions })],
  ];
  if (models)
    measures.push(
      ['planning', planning(1, modelDelayMs, models.slow)],
      ['planning', planning(50, modelDelayMs, models.slow)],
      ['planning', planning(1, 0, models.instant)],
    );
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
  const figuresOfLoad: LoadFigures = { storage: name };
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
      figuresOfLoad.overload = { rate: load.rate, seconds: load.seconds, figures: overload };
    }
    if (runs('neighbour'))
      figuresOfLoad.neighbour = await measureNeighbour({
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
  for (const row of loadTableRows([figuresOfLoad])) figures.add(row);
}

/** PGlite on disk in a temp DATA_DIR, as `npm start` runs it; the folder goes with the database. */
async function openPgliteOnDisk(): Promise<Database> {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  const db = await openPglite({ dataDir });
  return {
    ...db,
    async close() {
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const needsModel = runs('planning');
const slowModel = needsModel ? await startModelProcess({ delayMs: modelDelayMs }) : undefined;
const instantModel = needsModel ? await startModelProcess({ delayMs: 0 }) : undefined;
const models =
  slowModel && instantModel ? { slow: slowModel.url, instant: instantModel.url } : undefined;
let postgres: BenchPostgres | undefined;
try {
  if (storages.includes('pglite')) {
    await measureAll('pglite', openPgliteOnDisk, models);
    if (runs('rss'))
      await measureRss({ name: 'pglite', changes: sizes.rssChanges, recorder, figures });
    await measureLoad('pglite');
  }
  if (storages.includes('pglite-memory'))
    await measureAll('pglite-memory', () => openPglite({ dataDir: undefined }), models);
  if (storages.includes('postgres')) postgres = await openBenchPostgres();
  if (postgres) {
    const url = postgres.url;
    const emptied = async () => {
      const db = openPostgres({ url });
      // Each measure starts from empty tables.
      await migrate(db);
      await db.query(`truncate ${everyTable}`);
      return db;
    };
    await measureAll('postgres', emptied, models);
    if (runs('rss')) {
      await (await emptied()).close();
      await measureRss({
        name: 'postgres',
        postgresUrl: url,
        changes: sizes.rssChanges,
        recorder,
        figures,
      });
    }
    await measureLoad('postgres', url);
  }
} finally {
  await postgres?.close();
  await slowModel?.close();
  await instantModel?.close();
}

if (figures.figures.length > 0) {
  const table = figuresTable(figures.figures);
  process.stdout.write(`\n${table}\n\n`);
  if (args.includes('--write-docs')) {
    const lines = recorder.results.map(
      (result) => `${result.database.padEnd(10)} ${result.measure.padEnd(58)} ${result.value}`,
    );
    const path = writeBenchDoc({
      title: `npm run bench -w @baton/relay${quick ? ' -- --quick' : ''}${only ? ` --only=${only.join(',')}` : ''}`,
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
