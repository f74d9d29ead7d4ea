/**
 * A relay for the load measures, run as `npm start` runs it: its own process (`src/main.ts`),
 * real HTTP, on PGlite in a fresh temp DATA_DIR on disk or on the bench's PostgreSQL database.
 * The users are written before it starts (a PGlite folder has one process at a time).
 * `close()` stops the process (SIGTERM) and removes the temp folder.
 */
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '../src/auth/users.ts';
import type { Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { openPglite } from '../src/db/pglite-database.ts';
import { openPostgres } from '../src/db/postgres-database.ts';
import { startRelayProcess } from '../src/testing/relay-process.ts';
import { everyTable } from '../src/testing/test-database.ts';

export interface BenchUser {
  name: string;
  token: string;
}

export interface BenchRelay {
  url: string;
  pid: number;
  users: Map<string, BenchUser>;
  close(): Promise<void>;
}

export async function startBenchRelay(options: {
  /** The bench's PostgreSQL database; PGlite on disk when absent. */
  postgresUrl?: string;
  userNames: readonly string[];
}): Promise<BenchRelay> {
  const dataDir = options.postgresUrl ? undefined : mkdtempSync(join(tmpdir(), 'baton-bench-'));
  const db: Database = options.postgresUrl
    ? openPostgres({ url: options.postgresUrl })
    : await openPglite({ dataDir });
  const users = new Map<string, BenchUser>();
  try {
    await migrate(db);
    if (options.postgresUrl) await db.query(`truncate ${everyTable}`);
    for (const name of options.userNames) {
      const { token } = await createUser({ db, name });
      users.set(name, { name, token });
    }
  } finally {
    await db.close();
  }
  const relay = await startRelayProcess({
    env: {
      PORT: '0',
      LOG_LEVEL: 'warn',
      DATABASE_URL: options.postgresUrl ?? '',
      ...(dataDir ? { DATA_DIR: dataDir } : {}),
      OPENAI_BASE_URL: '',
      OPENAI_API_KEY: '',
      TICK_INTERVAL_MS: '600000',
      ...(process.env.BENCH_RELAY_NODE_OPTIONS
        ? { NODE_OPTIONS: process.env.BENCH_RELAY_NODE_OPTIONS }
        : {}),
    },
    timeoutMs: 60_000,
  });
  return {
    url: relay.url,
    pid: relay.pid,
    users,
    async close() {
      await relay.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
