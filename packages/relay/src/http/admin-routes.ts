/**
 * `/admin/v1`: users and tokens of a running relay, for `npm run relay -- …` on the same machine
 * (with PGlite only the relay's process may open its data folder). Served only to loopback
 * requests that did not come through a proxy (no Forwarded / X-Forwarded-For): anything else
 * gets a 404 as if the routes did not exist. Every route but `GET /database` also needs
 * `Authorization: Bearer <secret>`, the secret the relay wrote to DATA_DIR/admin.json (0600).
 *
 *   GET    /admin/v1/database            → {kind, location} (which database this relay uses)
 *   GET    /admin/v1/users               → {users: [{id, name, createdAt, tokens: [...]}]}
 *   POST   /admin/v1/users  {name, tokenName?}  → 201 {user, token: {id, name, secret}}
 *   POST   /admin/v1/tokens {user, name?}       → 201 {user, token: {id, name, secret}}
 *   DELETE /admin/v1/tokens/:id          → {user, tokenId, closedConnections}
 *   POST   /admin/v1/tokens/:id/rotate   → {user, token: {id, name, secret}, closedConnections}
 *   GET    /admin/v1/backup              → the relay's backup as JSON lines (backup/backup-file.ts)
 *   POST   /admin/v1/replay {iterationId, model?} → ReplayReport (admin/replay-action.ts)
 */
import { EngineError, invalidFromZod } from '@baton/engine';
import { Hono, type Context } from 'hono';
import { stream } from 'hono/streaming';
import type { AdminActions } from '../admin/admin-actions.ts';
import {
  AddTokenBodySchema,
  AddUserBodySchema,
  TokenIdSchema,
  type DatabaseInfo,
} from '../admin/admin-schemas.ts';
import { ReplayBodySchema } from '../admin/replay-action.ts';
import type { AppEnv } from './app-env.ts';
import { readJson } from './read-json.ts';
import { bearerIs, fromLoopback } from './request-origin.ts';

export const adminPath = '/admin/v1';

/** An admin request is a name or two; anything near this size is not one. */
const maxAdminBytes = 16 * 1024;

export interface AdminRouteOptions {
  /** The shared secret of DATA_DIR/admin.json. */
  secret: string;
  database: DatabaseInfo;
  actions: AdminActions;
  /** Writes the database's backup through `write` (`npm run relay -- backup` while it runs). */
  backup?: (write: (text: string) => Promise<void>) => Promise<unknown>;
}

function tokenIdOf(context: Context): string {
  const parsed = TokenIdSchema.safeParse(context.req.param('tokenId'));
  if (!parsed.success) throw invalidFromZod(parsed.error, 'tokenId');
  return parsed.data;
}

export function adminRoutes(options: AdminRouteOptions) {
  const routes = new Hono<AppEnv>();
  const { actions } = options;

  routes.use('*', async (context, next) => {
    const proxied =
      context.req.header('forwarded') !== undefined ||
      context.req.header('x-forwarded-for') !== undefined;
    if (proxied || !fromLoopback(context))
      throw new EngineError('not_found', `Nothing at ${context.req.path}.`);
    await next();
  });
  routes.get('/database', (context) => context.json(options.database));
  routes.use('*', async (context, next) => {
    if (!bearerIs(context, options.secret))
      throw new EngineError(
        'unauthorized',
        'Admin requests need "Authorization: Bearer <secret>" with the secret in DATA_DIR/admin.json.',
      );
    await next();
  });

  routes.get('/users', async (context) => context.json({ users: await actions.listUsers() }));
  routes.post('/users', async (context) => {
    const parsed = AddUserBodySchema.safeParse(
      (await readJson(context, { maxBytes: maxAdminBytes })).value,
    );
    if (!parsed.success) throw invalidFromZod(parsed.error);
    return context.json(await actions.addUser(parsed.data), 201);
  });
  routes.post('/tokens', async (context) => {
    const parsed = AddTokenBodySchema.safeParse(
      (await readJson(context, { maxBytes: maxAdminBytes })).value,
    );
    if (!parsed.success) throw invalidFromZod(parsed.error);
    return context.json(await actions.addToken(parsed.data), 201);
  });
  routes.delete('/tokens/:tokenId', async (context) =>
    context.json(await actions.revokeToken({ tokenId: tokenIdOf(context) })),
  );
  routes.post('/tokens/:tokenId/rotate', async (context) =>
    context.json(await actions.rotateToken({ tokenId: tokenIdOf(context) })),
  );
  const { backup } = options;
  if (backup)
    routes.get('/backup', (context) => {
      context.header('content-type', 'application/x-ndjson; charset=utf-8');
      return stream(context, async (out) => {
        await backup(async (text) => void (await out.write(text)));
      });
    });
  routes.post('/replay', async (context) => {
    const parsed = ReplayBodySchema.safeParse(
      (await readJson(context, { maxBytes: maxAdminBytes })).value,
    );
    if (!parsed.success) throw invalidFromZod(parsed.error);
    return context.json(await actions.replay(parsed.data));
  });
  routes.all('*', (context) => {
    throw new EngineError('not_found', `No route for ${context.req.method} ${context.req.path}.`);
  });
  return routes;
}
