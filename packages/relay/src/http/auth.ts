/**
 * Bearer-token authentication for `/v1`: `Authorization: Bearer <token>`, or `?token=` on the
 * live WebSocket route only (browsers cannot set headers on a WebSocket).
 */
import { EngineError } from '@baton/engine';
import type { MiddlewareHandler } from 'hono';
import { findUserByToken } from '../auth/tokens.ts';
import type { SqlRunner } from '../db/database.ts';
import type { AppEnv } from './app-env.ts';

export function requireUser(options: {
  db: SqlRunner;
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
    // Looked up on every request, so a revoked or rotated token is refused at once.
    const found = await findUserByToken({ db: options.db, token });
    if (!found) throw new EngineError('unauthorized', 'This token is not valid on this relay.');
    context.set('user', found.user);
    context.set('tokenId', found.tokenId);
    await next();
  };
}
