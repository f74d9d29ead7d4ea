/**
 * `npm run bench -w @baton/relay`: what one relay does on this machine.
 *   push ingest   changes/s through POST /v1/sync/push (validate, log, merge) vs a raw INSERT
 *   pull          changes/s through GET /v1/sync/pull in pages of 1,000
 *   due query     time to find the due work among 100k missions of which 100 are due
 *   planning      plans/s with a scripted model answering in 200 ms, 32 calls at once
 * PGlite in memory; also PostgreSQL when DATABASE_URL (or TEST_DATABASE_URL) is set.
 */
import { formatHlc, type Change } from '@baton/engine';
import { createSequentialIds } from '@baton/engine/testing';
import { createApp } from '../src/app.ts';
import { createUser } from '../src/auth/users.ts';
import type { Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { openPostgres } from '../src/db/postgres-database.ts';
import { createLiveHub } from '../src/live/live-hub.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { createOpenAiModel } from '../src/model/openai-model.ts';
import { createRelayRunner } from '../src/runner/relay-runner.ts';
import { listDue, takeDue } from '../src/store/due-index.ts';
import { createSqlStore } from '../src/store/sql-store.ts';
import { createModelServer } from '../src/testing/model-server.ts';
import { createTestPglite } from '../src/testing/test-database.ts';
import { createTestDevice } from '../src/testing/test-device.ts';

const logger = createLogger({ level: 'silent' });
const results: Array<{ database: string; measure: string; value: string }> = [];
const record = (database: string, measure: string, value: string) => {
  results.push({ database, measure, value });
  process.stdout.write(`${database.padEnd(10)} ${measure.padEnd(52)} ${value}\n`);
};
const seconds = (startedMs: number) => (performance.now() - startedMs) / 1_000;

function taskChanges(count: number, wallMs: number, prefix: string): Change[] {
  const ids = createSequentialIds(prefix);
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

async function benchSync(name: string, db: Database): Promise<void> {
  const { token } = await createUser({ db, name: `bench_${name}_${Date.now()}` });
  const app = createApp({
    db,
    live: createLiveHub(),
    metrics: createMetrics(),
    logger,
    config: { model: undefined, webappDir: '/nonexistent' },
  });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const total = 10_000;
  const changes = taskChanges(total, Date.now(), 'B');

  let started = performance.now();
  for (let offset = 0; offset < total; offset += 1_000) {
    const response = await app.request('/v1/sync/push', {
      method: 'POST',
      headers,
      body: JSON.stringify({
        deviceId: 'dev_bench',
        changes: changes.slice(offset, offset + 1_000),
      }),
    });
    if (response.status !== 200) throw new Error(`push failed: ${await response.text()}`);
  }
  record(
    name,
    `push ingest (${total} changes, pages of 1,000)`,
    `${Math.round(total / seconds(started))} changes/s`,
  );

  await db.query('create temporary table if not exists raw_bench (id text, body jsonb)');
  started = performance.now();
  for (let offset = 0; offset < total; offset += 1_000) {
    await db.query(
      "insert into raw_bench select given ->> 'id', given from jsonb_array_elements($1::jsonb) as given",
      [JSON.stringify(changes.slice(offset, offset + 1_000))],
    );
  }
  record(
    name,
    `raw INSERT baseline (${total} rows, batches of 1,000)`,
    `${Math.round(total / seconds(started))} rows/s`,
  );

  started = performance.now();
  let cursor = '0';
  let pulled = 0;
  for (;;) {
    const response = await app.request(`/v1/sync/pull?since=${cursor}&limit=1000`, { headers });
    const page = (await response.json()) as { changes: Change[]; cursor: string; more: boolean };
    pulled += page.changes.length;
    cursor = page.cursor;
    if (!page.more) break;
  }
  record(
    name,
    `pull (${pulled} changes, pages of 1,000)`,
    `${Math.round(pulled / seconds(started))} changes/s`,
  );
}

async function benchDue(name: string, db: Database): Promise<void> {
  const now = Date.now();
  await db.query(
    `insert into due (user_id, mission_id, run_on, next_slot_at)
     select 'bench_user_' || (n % 1000), 'bench_m_' || n, 'any',
            case when n % 1000 = 0 then $1::bigint - 60000 else $1::bigint + 3600000 end
     from generate_series(1, 100000) as n`,
    [now],
  );
  await db.query('analyze due');
  let started = performance.now();
  const listed = await listDue(db, { now, limit: 1_000 });
  record(
    name,
    `due query: list (${listed.length} of 100k due)`,
    `${(seconds(started) * 1_000).toFixed(1)} ms`,
  );
  started = performance.now();
  const taken = await takeDue(db, {
    now,
    limit: 1_000,
    holder: 'bench',
    leaseMs: 60_000,
    coveredUserIds: [],
    graceMs: 0,
  });
  record(
    name,
    `due query: take with skip locked (${taken.length})`,
    `${(seconds(started) * 1_000).toFixed(1)} ms`,
  );
  await db.query("delete from due where mission_id like 'bench_m_%'");
}

async function benchPlanning(db: Database): Promise<void> {
  const model = await createModelServer({
    script: () => ({ content: 'Nothing to change today.', delayMs: 200 }),
  });
  const { token } = await createUser({ db, name: `bench_plans_${Date.now()}` });
  const live = createLiveHub();
  const metrics = createMetrics();
  const store = createSqlStore({ db });
  const app = createApp({
    db,
    live,
    metrics,
    logger,
    config: { model: undefined, webappDir: '/nonexistent' },
  });
  const { serve } = await import('@hono/node-server');
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const created = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(created),
    );
  });
  const address = server.address() as { port: number };
  try {
    const now = Date.now();
    const device = createTestDevice({
      url: `http://127.0.0.1:${address.port}`,
      token,
      nowMs: now - 40 * 60_000,
    });
    const missions = 200;
    for (let index = 0; index < missions; index += 1) {
      await device.createMission({
        title: `Mission ${index}`,
        schedule: { kind: 'interval', everyMs: 3_600_000, anchor: now - 30 * 60_000 },
      });
    }
    await device.push();
    const runner = createRelayRunner({
      db,
      store,
      live,
      model: createOpenAiModel({
        baseUrl: model.url,
        apiKey: 'k',
        defaultModel: 'scripted-model',
        timeoutMs: 30_000,
      }),
      instanceId: 'relay_bench',
      graceMs: 0,
      concurrency: 32,
      metrics,
      logger,
    });
    const started = performance.now();
    const report = await runner.tick();
    const elapsed = seconds(started);
    await runner.close();
    record(
      'pglite',
      `planning (${report.planned.length} plans, 200 ms model, 32 at once)`,
      `${(report.planned.length / elapsed).toFixed(1)} plans/s (model-bound ideal ${32 / 0.2})`,
    );
  } finally {
    server.close();
    await model.close();
  }
}

const pglite = await createTestPglite();
try {
  await benchSync('pglite', pglite);
  await benchDue('pglite', pglite);
  await benchPlanning(pglite);
} finally {
  await pglite.close();
}

const postgresUrl = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
if (postgresUrl) {
  const postgres = openPostgres({ url: postgresUrl });
  try {
    await migrate(postgres);
    await benchSync('postgres', postgres);
    await benchDue('postgres', postgres);
  } finally {
    await postgres.close();
  }
} else {
  process.stdout.write(
    'postgres   skipped: set DATABASE_URL or TEST_DATABASE_URL to measure PostgreSQL too\n',
  );
}
process.stdout.write(`${JSON.stringify({ bench: '@baton/relay', results })}\n`);
