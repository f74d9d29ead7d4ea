/**
 * Load shedding: at most `perUser` API requests of one user and `total` of all users are in
 * flight in this process; beyond them a request is answered at once (429 for the user's own
 * share, 503 for the relay's) with `Retry-After`, so the requests that are served stay fast and
 * none waits for a minute in a queue. Live connections are long-lived and counted apart
 * (`LIVE_MAX_PER_USER`).
 *
 * Two middlewares: `relay` goes before authentication, so requests waiting for their token to be
 * looked up count too (on PGlite a token lookup waits its turn on the one database thread: before,
 * a flood queued there unbounded, past the limit that only counted authenticated requests);
 * `user` goes after it, since it needs the user.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';

export interface AdmissionLimits {
  /** Requests in flight at most, across users. */
  total: number;
  /** Requests of one user in flight at most. */
  perUser: number;
}

export function admission(
  limits: AdmissionLimits,
  options: { skip?: (path: string) => boolean; onRefused?: (scope: 'user' | 'relay') => void } = {},
): { relay: MiddlewareHandler<AppEnv>; user: MiddlewareHandler<AppEnv> } {
  let inFlight = 0;
  const byUser = new Map<string, number>();
  const refuse = (context: Parameters<MiddlewareHandler<AppEnv>>[0], scope: 'user' | 'relay') => {
    options.onRefused?.(scope);
    const message =
      scope === 'user'
        ? `Too many requests of yours at once (at most ${limits.perUser}); try again in a second.`
        : `The relay is busy (${limits.total} requests in flight); try again in a second.`;
    return context.json({ error: { kind: 'unavailable', message } }, scope === 'user' ? 429 : 503, {
      'Retry-After': '1',
    });
  };
  /** Before authentication a request is known by its credential: one token's flood is a 429. */
  const byCredential = new Map<string, number>();
  return {
    async relay(context, next) {
      if (context.req.method === 'OPTIONS' || options.skip?.(context.req.path)) return next();
      const credential = context.req.header('authorization') ?? '';
      const sent = byCredential.get(credential) ?? 0;
      if (credential && sent >= limits.perUser) return refuse(context, 'user');
      if (inFlight >= limits.total) return refuse(context, 'relay');
      inFlight += 1;
      byCredential.set(credential, sent + 1);
      try {
        await next();
      } finally {
        inFlight -= 1;
        const left = (byCredential.get(credential) ?? 1) - 1;
        if (left <= 0) byCredential.delete(credential);
        else byCredential.set(credential, left);
      }
    },
    async user(context, next) {
      if (context.req.method === 'OPTIONS' || options.skip?.(context.req.path)) return next();
      const userId = context.get('user').id;
      const mine = byUser.get(userId) ?? 0;
      if (mine >= limits.perUser) return refuse(context, 'user');
      byUser.set(userId, mine + 1);
      try {
        await next();
      } finally {
        const left = (byUser.get(userId) ?? 1) - 1;
        if (left <= 0) byUser.delete(userId);
        else byUser.set(userId, left);
      }
    },
  };
}
