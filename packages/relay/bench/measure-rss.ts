/**
 * The relay's memory as `npm start` runs it: its own process, resident set size (RSS) read from
 * /proc. Idle a few seconds after its first start on an empty DATA_DIR (PGlite creates its
 * database then), peak (VmHWM) after one user pushed `changes` changes over HTTP in 1,000-change
 * pushes, and idle after a restart on the same data. On PostgreSQL the database's own memory is
 * the server's, not the relay's.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRelayProcess } from '../src/testing/relay-process.ts';
import type { Figures } from './figures.ts';
import { createHttpLoadClient, sleep } from './http-load.ts';
import type { Recorder } from './record.ts';
import { createPushMaker, idPrefixOf } from './workload.ts';

const token = 'bench_rss_token_0123456789';

/** What issue 10 measured from outside. */
const baselines: Record<string, string> = {
  pglite: '877 MB idle on first start, 398 MB after restart, peak 962 MB at 100k changes',
  postgres: '159 MB',
};
const goals: Record<string, string> = {
  pglite: '≤ 250 MB idle, ≤ 400 MB peak at 100k',
  postgres: '≤ 200 MB',
};

function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
}

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

export async function measureRss(options: {
  name: string;
  /** The bench's PostgreSQL database (emptied first); PGlite on disk when absent. */
  postgresUrl?: string;
  changes: number;
  recorder: Recorder;
  figures: Figures;
}): Promise<void> {
  const { name, recorder } = options;
  const dataDir = options.postgresUrl ? undefined : mkdtempSync(join(tmpdir(), 'baton-rss-'));
  const env = {
    PORT: '0',
    LOG_LEVEL: 'warn',
    DATABASE_URL: options.postgresUrl ?? '',
    ...(dataDir ? { DATA_DIR: dataDir } : {}),
    BATON_FIRST_TOKEN: token,
    USER_NAME: 'bench',
    OPENAI_BASE_URL: '',
    OPENAI_API_KEY: '',
    TICK_INTERVAL_MS: '600000',
  };
  try {
    let relay = await startRelayProcess({ env, timeoutMs: 120_000 });
    await sleep(3_000);
    const idle = memoryOf(relay.pid);
    const client = createHttpLoadClient({ url: relay.url });
    const push = createPushMaker({
      deviceId: 'dev_rss',
      idPrefix: idPrefixOf(7),
      rows: options.changes,
    });
    for (let sent = 0; sent < options.changes; sent += 1_000) {
      const answer = await client.send({
        method: 'POST',
        path: '/v1/sync/push',
        token,
        body: push(1_000),
      });
      if (answer.status !== 200) throw new Error(`push failed: ${answer.status} ${answer.text}`);
    }
    client.close();
    const loaded = memoryOf(relay.pid);
    await relay.stop();
    relay = await startRelayProcess({ env, timeoutMs: 120_000 });
    await sleep(3_000);
    const restarted = memoryOf(relay.pid);
    await relay.stop();
    const changes = options.changes.toLocaleString('en');
    recorder.record(
      name,
      `relay RSS: idle, peak at ${changes} changes, idle after restart`,
      `${mb(idle.rss)}, ${mb(loaded.peak)}, ${mb(restarted.rss)}`,
    );
    options.figures.add({
      storage: name,
      figure: `relay RSS: idle on first start / peak at ${changes} changes / idle after restart`,
      thisRun: `${mb(idle.rss)} / ${mb(loaded.peak)} / ${mb(restarted.rss)}`,
      baseline: baselines[name] ?? '–',
      goal: goals[name] ?? '–',
    });
  } finally {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}
