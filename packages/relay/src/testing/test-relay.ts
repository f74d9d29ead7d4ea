/**
 * A relay app on a fresh test database with two users, for route tests through `app.request()`.
 * `close()` closes the database.
 */
import { formatHlc, type Change } from '@baton/engine';
import { createSequentialIds } from '@baton/engine/testing';
import { createApp, type AppOptions, type RelayApp } from '../app.ts';
import { createUser } from '../auth/users.ts';
import { defaultProxySettings, type ProxySettings, type RelayConfig } from '../config.ts';
import type { Database } from '../db/database.ts';
import { createLiveHub, type LiveHub } from '../live/live-hub.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { createSqlStore, type SqlStore } from '../store/sql-store.ts';
import { createTestDatabase, type TestDatabaseKind } from './test-database.ts';

export const aliceToken = 'alice-token-0123456789abcdef';
export const bobToken = 'bob-token-0123456789abcdef';

export interface TestRelay {
  app: RelayApp;
  db: Database;
  live: LiveHub;
  metrics: Metrics;
  /** The SQL store, poking `live` on commit as in main.ts. */
  store: SqlStore;
  users: { alice: string; bob: string };
  now: { value: number };
  /** `app.request` with a bearer token (alice's unless given) and a JSON body. */
  call(
    path: string,
    init?: {
      method?: string;
      body?: unknown;
      token?: string | null;
      headers?: Record<string, string>;
    },
  ): Promise<Response>;
  close(): Promise<void>;
}

export async function createTestRelay(
  options: {
    kind?: TestDatabaseKind;
    model?: RelayConfig['model'];
    /** The model proxy's settings, over `defaultProxySettings`. */
    proxy?: Partial<ProxySettings>;
    webappDir?: string;
    /** Silent by default. */
    logger?: Logger;
    /** More of the app's config (metrics token, CORS origins, limits…). */
    config?: Omit<Partial<AppOptions['config']>, 'model' | 'webappDir' | 'proxy'>;
  } = {},
): Promise<TestRelay> {
  const db = await createTestDatabase(options.kind ?? 'pglite');
  const alice = await createUser({ db, name: 'alice', token: aliceToken });
  const bob = await createUser({ db, name: 'bob', token: bobToken });
  const live = createLiveHub();
  const metrics = createMetrics();
  const now = { value: Date.UTC(2026, 10, 25, 7, 30) };
  const app = createApp({
    db,
    live,
    metrics,
    logger: options.logger ?? createLogger({ level: 'silent' }),
    config: {
      model: options.model,
      proxy: { ...defaultProxySettings, ...options.proxy },
      webappDir: options.webappDir ?? '/nonexistent/webapp/build',
      ...options.config,
    },
    now: () => now.value,
  });
  return {
    app,
    db,
    live,
    metrics,
    store: createSqlStore({ db, onCommit: (commit) => live.poke(commit), now: () => now.value }),
    users: { alice: alice.user.id, bob: bob.user.id },
    now,
    call(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      const token = init.token === undefined ? aliceToken : init.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (init.body !== undefined) {
        body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
        headers['content-type'] = 'application/json';
      }
      return Promise.resolve(
        app.request(path, {
          method: init.method ?? (body === undefined ? 'GET' : 'POST'),
          headers,
          ...(body === undefined ? {} : { body }),
        }),
      );
    },
    close: () => db.close(),
  };
}

/** Builds valid task changes from one device, with increasing stamps at `wallMs`. */
export function createChangeFactory(options: {
  deviceId?: string;
  wallMs: number;
  idPrefix?: string;
}) {
  const deviceId = options.deviceId ?? 'dev_a';
  const ids = createSequentialIds(options.idPrefix ?? 'A');
  let counter = 0;
  return (rowId: string, fields: Record<string, unknown> = { title: rowId }): Change => ({
    id: ids.ulid(),
    table: 'tasks',
    rowId,
    fields,
    hlc: formatHlc({ wallMs: options.wallMs, counter: counter++, nodeId: deviceId }),
    actor: { kind: 'user', deviceId },
    deviceId,
  });
}
