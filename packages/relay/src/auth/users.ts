/**
 * Users: an id, a unique name, and one or more bearer tokens (tokens.ts).
 */
import { z } from 'zod';
import type { SqlRunner } from '../db/database.ts';
import { newUlid } from '../ids.ts';
import { addToken, newToken } from './tokens.ts';

export interface User {
  id: string;
  name: string;
}

/** A user's name, as `user add` and USER_NAME take it: 1–64 characters, no control characters. */
export const UserNameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');

/** Creates a user with one token (a new random one unless given) and returns both. */
export async function createUser(options: {
  db: SqlRunner;
  name: string;
  token?: string;
  tokenName?: string | null;
  now?: number;
}): Promise<{ user: User; token: string; tokenId: string }> {
  const user = { id: `u_${newUlid()}`, name: options.name };
  const token = options.token ?? newToken();
  const now = options.now ?? Date.now();
  await options.db.query('insert into users (id, name, created_at) values ($1, $2, $3::bigint)', [
    user.id,
    user.name,
    now,
  ]);
  const { tokenId } = await addToken({
    db: options.db,
    userId: user.id,
    token,
    name: options.tokenName ?? null,
    now,
  });
  return { user, token, tokenId };
}

export async function findUserByName(options: {
  db: SqlRunner;
  name: string;
}): Promise<User | undefined> {
  const rows = await options.db.query<User>('select id, name from users where name = $1', [
    options.name,
  ]);
  return rows[0];
}

/** Every user, oldest first, with when they were created (epoch ms). */
export async function listUsers(options: {
  db: SqlRunner;
}): Promise<Array<User & { createdAt: number }>> {
  return options.db.query<User & { createdAt: number }>(
    'select id, name, created_at::float8 as "createdAt" from users order by created_at, id',
  );
}
