/**
 * Push ingest through `POST /v1/sync/push` (parse, validate, log, merge, due index) against a raw
 * INSERT of the same changes into a table shaped like `changes` (same columns, constraints and
 * indexes), and pull through `GET /v1/sync/pull`, pages of 1,000.
 */
import { formatHlc, type Change } from '@baton/engine';
import { createSequentialIds } from '@baton/engine/testing';
import { createApp } from '../src/app.ts';
import { createUser } from '../src/auth/users.ts';
import type { Database } from '../src/db/database.ts';
import { createLiveHub } from '../src/live/live-hub.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { secondsSince, type Recorder } from './record.ts';

const total = 10_000;
const page = 1_000;

function taskChanges(count: number, wallMs: number): Change[] {
  const ids = createSequentialIds('B');
  return Array.from({ length: count }, (_, index) => ({
    id: ids.ulid(),
    table: 'tasks',
    rowId: `t${index}`,
    fields: { title: `Task ${index}`, notes: 'Some notes about the task', done: index % 2 === 0 },
    hlc: formatHlc({ wallMs, counter: index, nodeId: 'dev_bench' }),
    actor: { kind: 'user', deviceId: 'dev_bench' },
    deviceId: 'dev_bench',
  }));
}

export async function measureSync(options: {
  name: string;
  db: Database;
  recorder: Recorder;
}): Promise<void> {
  const { name, db, recorder } = options;
  const { user, token } = await createUser({ db, name: 'bench_sync' });
  const app = createApp({
    db,
    live: createLiveHub(),
    metrics: createMetrics(),
    logger: createLogger({ level: 'silent' }),
    config: { model: undefined, webappDir: '/nonexistent' },
  });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const changes = taskChanges(total, Date.now());
  const pages = Array.from({ length: total / page }, (_, index) =>
    changes.slice(index * page, (index + 1) * page),
  );

  let started = performance.now();
  for (const changesOfPage of pages) {
    const response = await app.request('/v1/sync/push', {
      method: 'POST',
      headers,
      body: JSON.stringify({ deviceId: 'dev_bench', changes: changesOfPage }),
    });
    if (response.status !== 200) throw new Error(`push failed: ${await response.text()}`);
  }
  const pushRate = total / secondsSince(started);
  recorder.record(
    name,
    `push ingest (${total} changes, pages of ${page})`,
    `${Math.round(pushRate)} changes/s`,
  );

  await db.query('create table bench_changes (like changes including all)');
  try {
    started = performance.now();
    for (const changesOfPage of pages) {
      await db.query(
        `insert into bench_changes (user_id, id, table_name, row_id, hlc, body, committed_at)
         select $1, given ->> 'id', given ->> 'table', given ->> 'rowId', given ->> 'hlc', given, $3::bigint
         from jsonb_array_elements($2::jsonb) as given`,
        [user.id, JSON.stringify(changesOfPage), Date.now()],
      );
    }
    const rawRate = total / secondsSince(started);
    recorder.record(
      name,
      `raw INSERT, same rows into a changes-shaped table`,
      `${Math.round(rawRate)} rows/s`,
    );
    recorder.record(
      name,
      'push ingest / raw INSERT',
      `${((pushRate / rawRate) * 100).toFixed(1)} %`,
    );
  } finally {
    await db.query('drop table bench_changes');
  }

  started = performance.now();
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
    `pull (${pulled} changes, pages of ${page})`,
    `${Math.round(pulled / secondsSince(started))} changes/s`,
  );
}
