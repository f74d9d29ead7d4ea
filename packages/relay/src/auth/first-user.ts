import type { Database } from '../db/database.ts';
import { addToken } from './tokens.ts';
import { createUser, listUsers } from './users.ts';

const firstUserLock = 7_361_290_002;

/**
 * On a fresh database, creates the first user, called `name` (USER_NAME), with `token` (or a
 * random one) and returns the token so it can be shown once. With `token` given and users
 * present, makes sure that token signs in as the first user (so scripts and tests can rely on
 * BATON_FIRST_TOKEN). Safe when several instances start at once on one PostgreSQL (one
 * transaction under an advisory lock).
 */
export async function ensureFirstUser(options: {
  db: Database;
  name: string;
  token: string | undefined;
}): Promise<{ createdToken: string | undefined; userName: string }> {
  return options.db.transaction(async (runner) => {
    await runner.query(`select pg_advisory_xact_lock(${firstUserLock})`);
    const first = (await listUsers({ db: runner }))[0];
    if (!first) {
      const created = await createUser({
        db: runner,
        name: options.name,
        tokenName: 'first',
        ...(options.token ? { token: options.token } : {}),
      });
      return { createdToken: created.token, userName: options.name };
    }
    if (options.token)
      await addToken({ db: runner, userId: first.id, token: options.token, name: 'first' });
    return { createdToken: undefined, userName: first.name };
  });
}
