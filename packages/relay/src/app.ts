/**
 * The relay's HTTP surface as a Hono app: `/v1` (bearer auth, CORS), `/health`, `/metrics` and
 * the built webapp. Routes parse, call and shape; errors map to `{error:{kind,message,field?}}`
 * in the one `onError`. Nothing is written for a rejected request.
 */
import { EngineError, type MeResponse } from '@baton/engine';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { defaultProxySettings, type ProxySettings, type RelayConfig } from './config.ts';
import { createAdminActions } from './admin/admin-actions.ts';
import { writeBackup } from './backup/backup-file.ts';
import type { DatabaseInfo } from './admin/admin-schemas.ts';
import { modelFromConfig } from './admin/replay-action.ts';
import type { Database } from './db/database.ts';
import { adminPath, adminRoutes } from './http/admin-routes.ts';
import { addLiveRoute } from './http/live-route.ts';
import type { AppEnv } from './http/app-env.ts';
import { requireUser } from './http/auth.ts';
import { createTokenCache } from './auth/token-cache.ts';
import { claimsRoutes } from './http/claims-routes.ts';
import { admission } from './http/admission.ts';
import { errorResponse, toEngineError } from './http/errors.ts';
import { bearerIs, fromLoopback } from './http/request-origin.ts';
import { baseSecurityHeaders } from './http/security-headers.ts';
import { llmRoutes } from './http/llm-routes.ts';
import { syncRoutes } from './http/sync-routes.ts';
import { usageRoute } from './http/usage-route.ts';
import { webhookRoutes } from './http/webhook-routes.ts';
import { pushRoutes } from './http/push-routes.ts';
import { createNotifier, type Notifier } from './notify/notifier.ts';
import { addWebappRoutes } from './http/webapp-routes.ts';
import type { LiveHub, LogCommit } from './live/live-hub.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { createUserLimits } from './proxy/user-limits.ts';

export interface AppOptions {
  db: Database;
  /** `proxy` defaults to `defaultProxySettings`. */
  config: Pick<RelayConfig, 'model' | 'webappDir'> & { proxy?: ProxySettings } & Partial<
      Pick<
        RelayConfig,
        | 'metricsToken'
        | 'corsOrigins'
        | 'maxRequestsInFlight'
        | 'maxUserRequestsInFlight'
        | 'userMaxChanges'
        | 'userMaxBytes'
      >
    >;
  live: LiveHub;
  metrics: Metrics;
  logger: Logger;
  /** Epoch ms; Date.now by default (tests pass a fixed clock). */
  now?: () => number;
  /**
   * Serves `/admin/v1` (users and tokens, loopback only) with this secret; main.ts writes it to
   * DATA_DIR/admin.json for the CLI. Without it there are no admin routes.
   */
  admin?: { secret: string; database: DatabaseInfo };
  /** Sends webhook tests (`/v1/me/webhook/test`); one of its own by default. */
  notifier?: Pick<Notifier, 'sendTest'>;
  /** Called after a push appended changes; pokes `live` by default (main.ts adds other instances). */
  onAppended?: (commit: LogCommit) => void;
}

export const livePath = '/v1/sync/live';

export function createApp(options: AppOptions) {
  const { db, live, metrics, logger } = options;
  const now = options.now ?? Date.now;
  const app = new Hono<AppEnv>();
  const proxy = options.config.proxy ?? defaultProxySettings;
  const proxyLimits = createUserLimits({ limits: proxy, now });

  app.use('*', baseSecurityHeaders());

  app.onError((error, context) => {
    const engineError = toEngineError(error);
    metrics.httpErrors.inc({ kind: engineError.kind });
    if (engineError.kind === 'internal')
      logger.error({ err: error, path: context.req.path }, 'request failed');
    return errorResponse(context, engineError);
  });

  app.get('/health', async (context) => {
    let database = 'ok';
    try {
      await db.query('select 1');
    } catch (error) {
      database = `unavailable: ${(error as Error).message}`;
    }
    const healthy = database === 'ok';
    return context.json(
      {
        ok: healthy,
        database,
        databaseKind: db.kind,
        model: options.config.model ? 'configured' : 'not configured',
      },
      healthy ? 200 : 503,
    );
  });

  // Metrics tell how busy each part is: served to this machine, or with METRICS_TOKEN.
  app.get('/metrics', async (context) => {
    if (!fromLoopback(context) && !bearerIs(context, options.config.metricsToken))
      throw new EngineError(
        'unauthorized',
        'Metrics are served to this machine only; from elsewhere send Authorization: Bearer <METRICS_TOKEN>.',
      );
    context.header('content-type', metrics.registry.contentType);
    return context.body(await metrics.registry.metrics());
  });

  // Same-origin by default (the app is served from here); other origins only when listed.
  const corsOrigins = new Set(options.config.corsOrigins ?? []);
  app.use(
    '/v1/*',
    cors({
      origin: (origin) => (corsOrigins.has(origin) ? origin : null),
      maxAge: 600,
      // Retry-After is not CORS-safelisted: exposed so a browser client can honour a 429's.
      exposeHeaders: ['content-type', 'retry-after'],
    }),
  );
  const shed = admission(
    {
      total: options.config.maxRequestsInFlight ?? 64,
      perUser: options.config.maxUserRequestsInFlight ?? 16,
    },
    {
      skip: (path) => path === livePath,
      onRefused: (scope) => metrics.httpErrors.inc({ kind: `shed_${scope}` }),
    },
  );
  // The relay-wide limit counts requests from before their token lookup; a user's, after it.
  app.use('/v1/*', shed.relay);
  // On PGlite every change to tokens goes through this process (its admin routes below), which
  // empties the cache on each revocation; on PostgreSQL every request asks the database.
  const tokenCache = db.kind === 'pglite' ? createTokenCache() : undefined;
  app.use(
    '/v1/*',
    requireUser({
      db,
      allowQueryToken: (path) => path === livePath,
      ...(tokenCache ? { cache: tokenCache } : {}),
    }),
  );
  app.use('/v1/*', shed.user);

  app.get('/v1/me', (context) => {
    const user = context.get('user');
    const model = options.config.model;
    const body: MeResponse = {
      userId: user.id,
      name: user.name,
      // Whether runs here can use the relay's model (the webapp says which model a run uses).
      model: { configured: model !== undefined, name: model?.name ?? null },
    };
    return context.json(body);
  });
  app.route(
    '/v1/sync',
    syncRoutes({
      db,
      metrics,
      now,
      quota: {
        changes: options.config.userMaxChanges ?? 5_000_000,
        bytes: options.config.userMaxBytes ?? 5 * 1024 ** 3,
      },
      onAppended: options.onAppended ?? ((commit) => live.poke(commit)),
    }),
  );
  addLiveRoute({ app, path: livePath, pushPath: '/v1/sync/push', live, logger, db });
  app.route('/v1/claims', claimsRoutes({ db, metrics, now }));
  app.route(
    '/v1/me/webhook',
    webhookRoutes({ db, now, notifier: options.notifier ?? createNotifier({ db, logger, now }) }),
  );
  app.route('/v1/me/push', pushRoutes({ db, now }));
  app.get('/v1/me/usage', usageRoute({ model: options.config.model, proxy, limits: proxyLimits }));
  app.route(
    '/v1/llm',
    llmRoutes({ model: options.config.model, proxy, limits: proxyLimits, metrics, logger }),
  );
  app.all('/v1/*', (context) => {
    throw new EngineError('not_found', `No route for ${context.req.method} ${context.req.path}.`);
  });

  if (options.admin) {
    const actions = createAdminActions({
      db,
      closeLocal: (revoked) => {
        tokenCache?.forgetToken(revoked.tokenId);
        return live.closeToken(revoked);
      },
      model: modelFromConfig(options.config.model),
    });
    const backup = (write: (text: string) => Promise<void>) => writeBackup({ db, write });
    app.route(adminPath, adminRoutes({ ...options.admin, actions, backup }));
  }

  addWebappRoutes({ app, webappDir: options.config.webappDir });
  app.notFound((context) =>
    errorResponse(context, new EngineError('not_found', `Nothing at ${context.req.path}.`)),
  );
  return app;
}

export type RelayApp = ReturnType<typeof createApp>;
