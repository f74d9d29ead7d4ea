import type { User } from '../auth/users.ts';

/** Hono environment of the relay's routes: the signed-in user is set by the auth middleware. */
export interface AppEnv {
  Variables: { user: User };
}
