/**
 * Push ingest through `POST /v1/sync/push` (parse, validate, log, merge, due index), 1,000-change
 * pushes of new task rows one after another until the user holds `total` rows, against a raw
 * INSERT of the same changes into a table shaped like `changes` (same columns, constraints and
 * indexes: one row per change, as the relay logged them before it kept its log in pages,
 * decision 0021) in the same database, the two taking turns page by page; the rate near 1,000 rows
 * beside the rate near 100,000 (or the end, when `total` is smaller); the slowest push (a cliff
 * shows there); and pull through `GET /v1/sync/pull`, pages of 1,000.
 */
import { formatHlc, type Change } from '@baton/engine';
import { createSequentialIds } from '@baton/engine/testing';
import { createApp } from '../src/app.ts';
import { createUser } from '../src/auth/users.ts';
import { newUlid } from '../src/ids.ts';
import type { Database } from '../src/db/database.ts';
import { createLiveHub } from '../src/live/live-hub.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import type { Figures } from './figures.ts';
import { formatMs } from './http-load.ts';
import { secondsSince, type Recorder } from './record.ts';

const page = 1_000;

/** What issue 10 measured from outside, per storage. */
const baselines: Record<string, { ratio: string; scale: string }> = {
  pglite: {
    ratio: '0.20×',
    scale: '1,000-change pushes took 6–11 s between 11k and 17k rows; 100k ingest 1.4k changes/s',
  },
  'pglite-memory': { ratio: '0.28×', scale: '–' },
  postgres: { ratio: '0.23×', scale: '100k ingest 4.3k changes/s' },
};

/**
 * Row ids for `count` new tasks as a device's engine makes them (`task_` and a ULID, engine.ts),
 * made in one burst as an import makes them: they grow from one millisecond to the next, in no
 * order within one. The ULIDs come from the relay's own maker (`newUlid`, about 1 µs an id; the
 * library's own source takes about 100 µs, 20 s for 200,000). This measure once made ids `t0`,
 * `t1`, … `t10`, `t100`, which no device writes. Their pages landed all over the rows' key
 * (13.7 ms for a page's insert into a rows-shaped table on PGlite on disk, 10.2 ms with ids
 * like these), but they were five times shorter: with these ids the push's key is larger, which
 * the raw INSERT's table, with no key on row ids, does not pay, and the ratio came out lower
 * (docs/benchmarks.md, the section on c4a2027).
 */
function taskRowIds(count: number): string[] {
  return Array.from({ length: count }, () => `task_${newUlid().toLowerCase()}`);
}

/**
 * A page of new task rows, `rowIds[from]…`, as one device writes them: each page's stamps in a
 * millisecond of their own after `wallMs`, so the device's stamps only grow, as its clock's do.
 * (Pages that each reused the same 1,000 stamps, as this measure once made, are a log no device
 * writes; on PostgreSQL each push then grew the `(user_id, hlc)` index's lists of equal keys,
 * and the log's insert slowed from 23 to 70 ms over 90 pushes before it fell back.)
 */
function taskChanges(
  ids: ReturnType<typeof createSequentialIds>,
  rowIds: readonly string[],
  from: number,
  wallMs: number,
) {
  return Array.from({ length: page }, (_, offset): Change => {
    const index = from + offset;
    return {
      id: ids.ulid(),
      table: 'tasks',
      rowId: rowIds[index]!,
      fields: { title: `Task ${index}`, notes: 'Some notes about the task', done: index % 2 === 0 },
      hlc: formatHlc({ wallMs: wallMs + from / page, counter: offset, nodeId: 'dev_bench' }),
      actor: { kind: 'user', deviceId: 'dev_bench' },
      deviceId: 'dev_bench',
    };
  });
}

const rateOf = (pageMs: readonly number[]) =>
  (pageMs.length * page * 1_000) / pageMs.reduce((sum, ms) => sum + ms, 0);

export async function measureSync(options: {
  name: string;
  db: Database;
  recorder: Recorder;
  figures: Figures;
  /** Rows the user holds at the end (a multiple of 1,000). */
  total: number;
}): Promise<void> {
  const { name, db, recorder, total } = options;
  const { user, token } = await createUser({ db, name: 'bench_sync' });
  const app = createApp({
    db,
    live: createLiveHub(),
    metrics: createMetrics(),
    logger: createLogger({ level: 'silent' }),
    config: { model: undefined, webappDir: '/nonexistent' },
  });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const pages = total / page;
  const wallMs = Date.now();
  // The push and the raw INSERT write the same rows: the same ids, made before either starts.
  const rowIds = taskRowIds(total);

  // One push of another user first, so the first measured push pays no one-time cost (the
  // code's first run, the first plans of its statements).
  const warmUp = await createUser({ db, name: 'bench_sync_warm_up' });
  const warmIds = createSequentialIds('C');
  const warmed = await app.request('/v1/sync/push', {
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${warmUp.token}` },
    body: JSON.stringify({
      deviceId: 'dev_bench',
      changes: taskChanges(warmIds, taskRowIds(page), 0, wallMs),
    }),
  });
  if (warmed.status !== 200) throw new Error(`warm-up push failed: ${await warmed.text()}`);

  // Push and raw INSERT take turns, page by page, which goes first changing each page: the
  // machine's speed drifts over a run (two runs of the same commit gave ratios of 0.30 and
  // 0.40× when all pushes ran first and all raw INSERTs after), and turns give each the same
  // minutes. The raw INSERT puts the same rows, one INSERT per page, into a changes-shaped
  // table, through the same `Database` as the relay's statements, so its JSON parameter travels
  // the same way theirs do. Each body is made before its clock starts.
  const pushIds = createSequentialIds('B');
  const rawIds = createSequentialIds('B');
  const pushMs: number[] = [];
  const rawMs: number[] = [];
  const push = async (index: number) => {
    const body = JSON.stringify({
      deviceId: 'dev_bench',
      changes: taskChanges(pushIds, rowIds, index * page, wallMs),
    });
    const started = performance.now();
    const response = await app.request('/v1/sync/push', { method: 'POST', headers, body });
    if (response.status !== 200) throw new Error(`push failed: ${await response.text()}`);
    pushMs.push(performance.now() - started);
  };
  const insertRaw = async (index: number) => {
    const body = JSON.stringify(taskChanges(rawIds, rowIds, index * page, wallMs));
    const started = performance.now();
    await db.query(
      `insert into bench_changes (user_id, user_seq, id, table_name, row_id, hlc, body, committed_at)
       select $1, $3::bigint + given.n, given.body ->> 'id', given.body ->> 'table',
              given.body ->> 'rowId', given.body ->> 'hlc', given.body, $4::bigint
       from jsonb_array_elements($2::jsonb) with ordinality as given (body, n)`,
      [user.id, body, index * page, Date.now()],
    );
    rawMs.push(performance.now() - started);
  };
  await db.query('create table bench_changes (like changes including all)');
  try {
    for (let index = 0; index < pages; index += 1) {
      if (index % 2 === 0) {
        await push(index);
        await insertRaw(index);
      } else {
        await insertRaw(index);
        await push(index);
      }
    }
  } finally {
    await db.query('drop table bench_changes');
  }

  const pushRate = rateOf(pushMs);
  const rawRate = rateOf(rawMs);
  const early = pushMs.slice(0, Math.min(5, pages));
  const lateFrom = pages >= 105 ? 100 : Math.max(0, pages - 5);
  const late = pushMs.slice(lateFrom, lateFrom + 5);
  const lateRows = `${(lateFrom * page).toLocaleString('en')}–${((lateFrom + late.length) * page).toLocaleString('en')}`;
  let slowest = 0;
  for (let index = 1; index < pages; index += 1)
    if (pushMs[index]! > pushMs[slowest]!) slowest = index;
  const rows = total.toLocaleString('en');
  recorder.record(
    name,
    `push ingest (${rows} changes, pages of ${page})`,
    `${Math.round(pushRate)} changes/s`,
  );
  recorder.record(
    name,
    'raw INSERT, same rows into a changes-shaped table',
    `${Math.round(rawRate)} rows/s`,
  );
  recorder.record(name, 'push ingest / raw INSERT', `${(pushRate / rawRate).toFixed(2)}×`);
  recorder.record(
    name,
    `push ingest at 0–5,000 rows vs at ${lateRows} rows`,
    `${Math.round(rateOf(early))} vs ${Math.round(rateOf(late))} changes/s (${(rateOf(late) / rateOf(early)).toFixed(2)}×)`,
  );
  recorder.record(
    name,
    'slowest 1,000-change push',
    `${formatMs(pushMs[slowest]!)} at ${(slowest * page).toLocaleString('en')} rows (median ${formatMs([...pushMs].sort((a, b) => a - b)[Math.floor(pages / 2)]!)})`,
  );
  options.figures.add({
    storage: name,
    figure: 'push ingest vs raw INSERT of the same rows',
    thisRun: `${Math.round(pushRate)} vs ${Math.round(rawRate)} changes/s: ${(pushRate / rawRate).toFixed(2)}× (${rows} rows)`,
    baseline: baselines[name]?.ratio ?? '–',
    goal: '≥ 0.5×',
  });
  options.figures.add({
    storage: name,
    figure: `ingest at ${lateRows} rows vs at 0–5,000`,
    thisRun: `${(rateOf(late) / rateOf(early)).toFixed(2)}× (${Math.round(rateOf(late))} vs ${Math.round(rateOf(early))} changes/s); slowest push ${formatMs(pushMs[slowest]!)} at ${(slowest * page).toLocaleString('en')} rows`,
    baseline: baselines[name]?.scale ?? '–',
    goal: '≥ 0.8×, no cliff up to 200k',
  });

  const started = performance.now();
  let cursor = '0';
  let pulled = 0;
  for (;;) {
    const response = await app.request(`/v1/sync/pull?since=${cursor}&limit=${page}`, { headers });
    const body = (await response.json()) as { changes: Change[]; cursor: string; more: boolean };
    pulled += body.changes.length;
    cursor = body.cursor;
    if (!body.more) break;
  }
  recorder.record(
    name,
    `pull (${pulled.toLocaleString('en')} changes, pages of ${page})`,
    `${Math.round(pulled / secondsSince(started))} changes/s`,
  );
}
