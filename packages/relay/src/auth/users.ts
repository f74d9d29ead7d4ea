/**
 * Users and their bearer tokens. Tokens are random, shown once, and stored only as SHA-256
 * hashes, so a leaked database does not leak sign-ins.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import type { SqlRunner } from '../db/database.ts';

export interface User {
  id: string;
  name: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new token: 32 random bytes, base64url, prefixed so it is recognisable in a config file. */
export function newToken(): string {
  return `baton_${randomBytes(32).toString('base64url')}`;
}

/** Creates a user with one token (a new random one unless given) and returns both. */
export async function createUser(options: {
  db: SqlRunner;
  name: string;
  token?: string;
  now?: number;
}): Promise<{ user: User; token: string }> {
  const user = { id: `u_${ulid()}`, name: options.name };
  const token = options.token ?? newToken();
  const now = options.now ?? Date.now();
  await options.db.query('insert into users (id, name, created_at) values ($1, $2, $3::bigint)', [
    user.id,
    user.name,
    now,
  ]);
  await addToken({ db: options.db, userId: user.id, token, now });
  return { user, token };
}

export async function addToken(options: {
  db: SqlRunner;
  userId: string;
  token: string;
  now?: number;
}): Promise<void> {
  await options.db.query(
    'insert into tokens (hash, user_id, created_at) values ($1, $2, $3::bigint) on conflict (hash) do nothing',
    [hashToken(options.token), options.userId, options.now ?? Date.now()],
  );
}

export async function findUserByToken(options: {
  db: SqlRunner;
  token: string;
}): Promise<User | undefined> {
  const rows = await options.db.query<User>(
    'select users.id, users.name from tokens join users on users.id = tokens.user_id where tokens.hash = $1',
    [hashToken(options.token)],
  );
  return rows[0];
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

export async function listUsers(options: { db: SqlRunner }): Promise<User[]> {
  return options.db.query<User>('select id, name from users order by created_at, id');
}
