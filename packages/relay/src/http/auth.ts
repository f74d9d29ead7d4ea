/**
 * Bearer-token authentication for `/v1`: `Authorization: Bearer <token>`, or `?token=` on the
 * live WebSocket route only (browsers cannot set headers on a WebSocket).
 */
import { EngineError } from '@baton/engine';
import type { MiddlewareHandler } from 'hono';
import type { TokenCache } from '../auth/token-cache.ts';
import { findUserByToken } from '../auth/tokens.ts';
import type { SqlRunner } from '../db/database.ts';
import type { AppEnv } from './app-env.ts';

export function requireUser(options: {
  db: SqlRunner;
  /** Sign-ins already looked up (PGlite only: see auth/token-cache.ts). */
  cache?: TokenCache;
  allowQueryToken?: (path: string) => boolean;
}): MiddlewareHandler<AppEnv> {
  return async (context, next) => {
    if (context.req.method === 'OPTIONS') return next();
    const header = context.req.header('authorization');
    let token = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    if (token === undefined && options.allowQueryToken?.(context.req.path))
      token = context.req.query('token') || undefined;
    if (token === undefined) {
      throw new EngineError(
        'unauthorized',
        'Sign in: send the header "Authorization: Bearer <token>".',
      );
    }
    // Looked up on every request (or kept in a cache this process empties on every revocation),
    // so a revoked or rotated token is refused at once.
    const found = await findUserByToken({
      db: options.db,
      token,
      ...(options.cache ? { cache: options.cache } : {}),
    });
    if (!found) throw new EngineError('unauthorized', 'This token is not valid on this relay.');
    context.set('user', found.user);
    context.set('tokenId', found.tokenId);
    await next();
  };
}
