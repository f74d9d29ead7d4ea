import type { User } from '../auth/users.ts';

/**
 * Hono environment of the relay's routes: the signed-in user, and the id of the token they
 * signed in with (so a live connection can be closed when that token is revoked), are set by
 * the auth middleware.
 */
export interface AppEnv {
  Variables: { user: User; tokenId: string };
}
