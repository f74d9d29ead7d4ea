/**
 * The relay's HTTP surface as a Hono app: `/v1` (bearer auth, CORS), `/health`, `/metrics` and
 * the built webapp. Routes parse, call and shape; errors map to `{error:{kind,message,field?}}`
 * in the one `onError`. Nothing is written for a rejected request.
 */
import { EngineError } from '@baton/engine';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { defaultProxySettings, type ProxySettings, type RelayConfig } from './config.ts';
import type { Database } from './db/database.ts';
import { addLiveRoute } from './http/live-route.ts';
import type { AppEnv } from './http/app-env.ts';
import { requireUser } from './http/auth.ts';
import { claimsRoutes } from './http/claims-routes.ts';
import { errorResponse, toEngineError } from './http/errors.ts';
import { llmRoutes } from './http/llm-routes.ts';
import { syncRoutes } from './http/sync-routes.ts';
import { usageRoute } from './http/usage-route.ts';
import { addWebappRoutes } from './http/webapp-routes.ts';
import type { LiveHub } from './live/live-hub.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { createUserLimits } from './proxy/user-limits.ts';

export interface AppOptions {
  db: Database;
  /** `proxy` defaults to `defaultProxySettings`. */
  config: Pick<RelayConfig, 'model' | 'webappDir'> & { proxy?: ProxySettings };
  live: LiveHub;
  metrics: Metrics;
  logger: Logger;
  /** Epoch ms; Date.now by default (tests pass a fixed clock). */
  now?: () => number;
  /** Called after a push appended changes; pokes `live` by default (main.ts adds other instances). */
  onAppended?: (commit: { userId: string; cursor: string }) => void;
}

export const livePath = '/v1/sync/live';

export function createApp(options: AppOptions) {
  const { db, live, metrics, logger } = options;
  const now = options.now ?? Date.now;
  const app = new Hono<AppEnv>();
  const proxy = options.config.proxy ?? defaultProxySettings;
  const proxyLimits = createUserLimits({ limits: proxy, now });

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

  app.get('/metrics', async (context) => {
    context.header('content-type', metrics.registry.contentType);
    return context.body(await metrics.registry.metrics());
  });

  // Retry-After is not a CORS-safelisted header: exposed so a browser client can honour a 429's.
  app.use(
    '/v1/*',
    cors({ origin: '*', maxAge: 600, exposeHeaders: ['content-type', 'retry-after'] }),
  );
  app.use('/v1/*', requireUser({ db, allowQueryToken: (path) => path === livePath }));

  app.get('/v1/me', (context) => {
    const user = context.get('user');
    return context.json({ userId: user.id, name: user.name });
  });
  app.route(
    '/v1/sync',
    syncRoutes({
      db,
      metrics,
      now,
      onAppended: options.onAppended ?? ((commit) => live.poke(commit)),
    }),
  );
  addLiveRoute({ app, path: livePath, live, logger, db });
  app.route('/v1/claims', claimsRoutes({ db, metrics, now }));
  app.get('/v1/me/usage', usageRoute({ model: options.config.model, proxy, limits: proxyLimits }));
  app.route(
    '/v1/llm',
    llmRoutes({ model: options.config.model, proxy, limits: proxyLimits, metrics, logger }),
  );
  app.all('/v1/*', (context) => {
    throw new EngineError('not_found', `No route for ${context.req.method} ${context.req.path}.`);
  });

  addWebappRoutes({ app, webappDir: options.config.webappDir });
  app.notFound((context) =>
    errorResponse(context, new EngineError('not_found', `Nothing at ${context.req.path}.`)),
  );
  return app;
}

export type RelayApp = ReturnType<typeof createApp>;
