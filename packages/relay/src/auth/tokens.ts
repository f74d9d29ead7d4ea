/**
 * Bearer tokens. A token is random, shown once, and stored only as its SHA-256 hash, so a leaked
 * database does not leak sign-ins. Each has a public id (`tok_…`, safe to print and to name in
 * `token revoke`), an optional name, when it was made and when it was last used (updated at most
 * once per `lastUsedEveryMs`, so a busy client costs one write a minute, not one per request).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SqlRunner } from '../db/database.ts';
import type { TokenCache } from './token-cache.ts';
import type { User } from './users.ts';

/** `last_used_at` moves only when it is older than this (ms). */
export const lastUsedEveryMs = 60_000;

export interface TokenInfo {
  id: string;
  userId: string;
  name: string | null;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms, or null when never used; accurate to `lastUsedEveryMs`. */
  lastUsedAt: number | null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new token: 32 random bytes, base64url, prefixed so it is recognisable in a config file. */
export function newToken(): string {
  return `baton_${randomBytes(32).toString('base64url')}`;
}

/** A new token id: public, short, unrelated to the secret. */
export function newTokenId(): string {
  return `tok_${randomBytes(8).toString('hex')}`;
}

/**
 * Stores `token` (hashed) for the user and returns its id. A token already stored (the same
 * BATON_FIRST_TOKEN at every start) keeps its row and id.
 */
export async function addToken(options: {
  db: SqlRunner;
  userId: string;
  token: string;
  name?: string | null;
  now?: number;
}): Promise<{ tokenId: string }> {
  const hash = hashToken(options.token);
  await options.db.query(
    `insert into tokens (hash, id, user_id, name, created_at) values ($1, $2, $3, $4, $5::bigint)
     on conflict (hash) do nothing`,
    [hash, newTokenId(), options.userId, options.name ?? null, options.now ?? Date.now()],
  );
  const rows = await options.db.query<{ id: string }>('select id from tokens where hash = $1', [
    hash,
  ]);
  return { tokenId: rows[0]!.id };
}

/**
 * The user a token signs in as, and the token's id; undefined for an unknown (or revoked)
 * token. Marks the token used when its last use is older than `lastUsedEveryMs`. With a `cache`
 * (PGlite only, see token-cache.ts) a sign-in already looked up costs no query.
 */
export async function findUserByToken(options: {
  db: SqlRunner;
  token: string;
  now?: number;
  cache?: TokenCache;
}): Promise<{ user: User; tokenId: string } | undefined> {
  const { cache } = options;
  const hash = hashToken(options.token);
  const now = options.now ?? Date.now();
  let signIn = cache?.get(hash);
  if (!signIn) {
    const generation = cache?.generation() ?? 0;
    const rows = await options.db.query<{
      id: string;
      name: string;
      token_id: string;
      last_used_at: number | null;
    }>(
      `select users.id, users.name, tokens.id as token_id, tokens.last_used_at::float8 as last_used_at
         from tokens join users on users.id = tokens.user_id where tokens.hash = $1`,
      [hash],
    );
    const row = rows[0];
    if (!row) return undefined;
    signIn = {
      user: { id: row.id, name: row.name },
      tokenId: row.token_id,
      lastUsedAt: row.last_used_at,
    };
    cache?.set(hash, signIn, generation);
  }
  if (signIn.lastUsedAt === null || signIn.lastUsedAt <= now - lastUsedEveryMs) {
    await options.db.query('update tokens set last_used_at = $2::bigint where id = $1', [
      signIn.tokenId,
      now,
    ]);
    signIn.lastUsedAt = now;
  }
  return { user: signIn.user, tokenId: signIn.tokenId };
}

/** Every token (never its secret), oldest first. */
export async function listTokens(options: { db: SqlRunner }): Promise<TokenInfo[]> {
  const rows = await options.db.query<{
    id: string;
    user_id: string;
    name: string | null;
    created_at: number;
    last_used_at: number | null;
  }>(
    `select id, user_id, name, created_at::float8 as created_at, last_used_at::float8 as last_used_at
       from tokens order by created_at, id`,
  );
  return rows.map((row) => ({
    id: row.id,
    userId: row.user_id,
    name: row.name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  }));
}

/** Deletes a token; returns whose it was, or undefined when there is no such token. */
export async function deleteToken(options: {
  db: SqlRunner;
  tokenId: string;
}): Promise<{ userId: string } | undefined> {
  const rows = await options.db.query<{ user_id: string }>(
    'delete from tokens where id = $1 returning user_id',
    [options.tokenId],
  );
  return rows[0] && { userId: rows[0].user_id };
}

/**
 * Gives a token a new secret (same id, name and user): the old secret is refused from now on.
 * Returns the new secret, or undefined when there is no such token.
 */
export async function replaceTokenSecret(options: {
  db: SqlRunner;
  tokenId: string;
}): Promise<{ userId: string; name: string | null; token: string } | undefined> {
  const token = newToken();
  const rows = await options.db.query<{ user_id: string; name: string | null }>(
    'update tokens set hash = $2, last_used_at = null where id = $1 returning user_id, name',
    [options.tokenId, hashToken(token)],
  );
  return rows[0] && { userId: rows[0].user_id, name: rows[0].name, token };
}
