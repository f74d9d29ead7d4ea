/**
 * The composition root as a function: opens the database, makes sure a first user exists,
 * builds the live hub, SQL store, app and runner, and listens. `main.ts` calls it with the
 * environment's config; tests call it to get a real relay on a free port. `close()` stops the
 * runner (releasing this instance's claims), closes live connections, the server and the db.
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType, type WebSocketServerLike } from '@hono/node-server';
import { WebSocketServer } from 'ws';
import { databaseInfo } from './admin/database-info.ts';
import { createApp } from './app.ts';
import { ensureFirstUser } from './auth/first-user.ts';
import { releaseUserHolder } from './claims/sql-claims.ts';
import type { RelayConfig } from './config.ts';
import type { Database } from './db/database.ts';
import { openDatabase } from './db/open-database.ts';
import { createLiveHub, type LiveHub, type LogCommit } from './live/live-hub.ts';
import { createPresenceBridge, type PresenceBridge } from './live/presence-bridge.ts';
import { listenForRevokedTokens } from './live/token-revocations.ts';
import { createLogger, defaultLogFormat, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { modelFromConfig } from './admin/replay-action.ts';
import { createNotifier } from './notify/notifier.ts';
import { createRelayRunner, processHolder, type RelayRunner } from './runner/relay-runner.ts';
import { createSqlStore } from './store/sql-store.ts';

/** The largest live message the relay reads (a hello is well under 1 KB). */
export const maxLiveMessageBytes = 64 * 1024;

export interface RunningRelay {
  /** e.g. http://localhost:8787 */
  url: string;
  port: number;
  instanceId: string;
  /** Names this process in claims, due leases and the live bridge: unique per process. */
  holder: string;
  db: Database;
  live: LiveHub;
  runner: RelayRunner;
  metrics: Metrics;
  /** The first user's token when this start created it (print it once), else undefined. */
  createdToken: string | undefined;
  /** The first user's name (the one just created, or the one the database had). */
  firstUserName: string;
  close(): Promise<void>;
}

/** A node id naming this instance: stable across restarts on one host and port. */
export function defaultInstanceId(port: number): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_.]/g, '_')
      .slice(0, 40) || 'host';
  return `relay_${host}_${port}`;
}

export async function startRelay(options: {
  config: RelayConfig;
  logger?: Logger;
  /** Open this database instead of the configured one (tests); it is closed on close(). */
  db?: Database;
  /** Start the tick loop (default true). */
  tick?: boolean;
  /** Serve `/admin/v1` with this secret (main.ts writes it to DATA_DIR/admin.json). */
  adminSecret?: string;
}): Promise<RunningRelay> {
  const { config } = options;
  const logger =
    options.logger ??
    createLogger({ level: config.logLevel, format: config.logFormat ?? defaultLogFormat() });
  if (!options.db && config.databaseUrl === undefined)
    mkdirSync(config.dataDir, { recursive: true });
  const db =
    options.db ??
    (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const metrics = createMetrics({ collectDefaults: true });
  let bridge: PresenceBridge | undefined;
  let runner: RelayRunner | undefined;
  const ticking = options.tick ?? true;
  // A device host that stopped talking (browser closed mid-plan) gives back its claims after the
  // grace, and the runner looks at once: the slot is planned now, not when the lease runs out.
  const releaseGone = async (gone: { userId: string; holder: string; endedAt: number }) => {
    const { userId, holder } = gone;
    const released = await releaseUserHolder(db, { ...gone, now: Date.now() });
    if (released.length === 0) return;
    logger.info({ userId, holder, released }, 'released the claims of a device that went away');
    if (ticking) await runner?.tick();
  };
  const live = createLiveHub({
    onConnectionCount: (count) => metrics.liveConnections.set(count),
    peers: () => bridge,
    idleMs: config.liveIdleMs,
    holderGraceMs: config.claimReleaseGraceMs,
    ...(config.liveMaxPerUser ? { maxPerUser: config.liveMaxPerUser } : {}),
    onHolderGone: (gone) =>
      void releaseGone(gone).catch((error: unknown) =>
        logger.warn({ err: error }, 'could not release the claims of a device that went away'),
      ),
  });
  const onCommit = (commit: LogCommit) => {
    live.poke(commit);
    // Other instances hear a plain poke (a NOTIFY payload stays under 8,000 bytes).
    bridge?.publishPoke({
      userId: commit.userId,
      cursor: commit.cursor,
      ...(commit.pushedBy === undefined ? {} : { pushedBy: commit.pushedBy }),
    });
  };
  const notifier = createNotifier({ db, logger });
  let server: ServerType | undefined;
  let stopRevocations: (() => Promise<void>) | undefined;
  try {
    const first = await ensureFirstUser({
      db,
      name: config.firstUserName,
      token: config.firstToken,
    });
    const store = createSqlStore({ db, onCommit });
    const app = createApp({
      db,
      notifier,
      config,
      live,
      metrics,
      logger,
      onAppended: onCommit,
      ...(options.adminSecret
        ? { admin: { secret: options.adminSecret, database: databaseInfo(config) } }
        : {}),
    });
    // ws's own types mark `noServer` optional, which exactOptionalPropertyTypes will not match.
    // Live messages are a hello or a ping: a frame past 64 KB closes the connection (1009)
    // instead of being buffered (ws would take 100 MB).
    const websocket = new WebSocketServer({
      noServer: true,
      maxPayload: maxLiveMessageBytes,
    }) as unknown as WebSocketServerLike;
    const listening = await new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
      const created = serve(
        {
          fetch: app.fetch,
          port: config.port,
          hostname: config.host,
          websocket: { server: websocket },
        },
        (info: AddressInfo) => resolve({ server: created, port: info.port }),
      );
      created.once('error', reject);
    });
    server = listening.server;
    const instanceId = config.instanceId ?? defaultInstanceId(listening.port);
    const holder = processHolder(instanceId);
    // Several instances can share PostgreSQL: join their pokes and presence.
    if (db.kind === 'postgres') {
      bridge = await createPresenceBridge({ db, processId: holder, live: () => live, logger });
      // A token revoked anywhere (another instance, the CLI) closes its connections here too.
      stopRevocations = await listenForRevokedTokens({ db, live, logger });
    }
    const model = modelFromConfig(config.model);
    runner = createRelayRunner({
      db,
      store,
      live,
      model,
      instanceId,
      holder,
      graceMs: config.graceMs,
      concurrency: config.modelConcurrency,
      claimTtlMs: config.claimTtlMs,
      metrics,
      logger,
      notifier,
    });
    if (ticking) runner.start({ intervalMs: config.tickIntervalMs });
    const openServer = server;
    const openRunner = runner;
    let closing: Promise<void> | undefined;
    return {
      url: `http://localhost:${listening.port}`,
      port: listening.port,
      instanceId,
      holder,
      db,
      live,
      runner,
      metrics,
      createdToken: first.createdToken,
      firstUserName: first.userName,
      close() {
        closing ??= (async () => {
          await openRunner.close();
          await notifier.close();
          await stopRevocations?.();
          await bridge?.close();
          live.close();
          await new Promise<void>((resolve) => {
            openServer.close(() => resolve());
            if ('closeAllConnections' in openServer) openServer.closeAllConnections();
          });
          await db.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await runner?.close().catch(() => undefined);
    await notifier.close().catch(() => undefined);
    await stopRevocations?.().catch(() => undefined);
    await bridge?.close().catch(() => undefined);
    server?.close();
    await db.close();
    throw error;
  }
}
