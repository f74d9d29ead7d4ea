/**
 * Sign-ins already looked up, by token hash, so a request does not wait for the database just to
 * learn whose token it carries. On PGlite that lookup waited its turn behind every other user's
 * transaction on the one database thread: with alice flooding, each of bob's requests paid for
 * one of her pushes before its own work began.
 *
 * Only safe where this process sees every change to tokens: PGlite, whose folder one process
 * holds, and whose admin commands therefore run here (`forgetToken` on revoke and rotate). On
 * PostgreSQL another instance or the CLI may revoke a token at any moment, so every request
 * looks its token up there (on a pooled connection of its own, not behind other users' writes).
 */
import type { User } from './users.ts';

export interface CachedSignIn {
  user: User;
  tokenId: string;
  /** Epoch ms, or null when never used (see `lastUsedEveryMs`). */
  lastUsedAt: number | null;
}

export interface TokenCache {
  get(hash: string): CachedSignIn | undefined;
  /** Counts `forgetToken` calls: read it before a lookup and pass it to `set`. */
  generation(): number;
  /**
   * Keeps a sign-in looked up when the cache was at `generation`; ignored if a token was
   * forgotten since (the lookup may have read it just before its revocation).
   */
  set(hash: string, signIn: CachedSignIn, generation: number): void;
  /** Drops every entry of this token (revoked, or rotated to a new secret). */
  forgetToken(tokenId: string): void;
}

/** A cache of at most `maxEntries` sign-ins; the oldest entry goes first. */
export function createTokenCache(options: { maxEntries?: number } = {}): TokenCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, CachedSignIn>();
  let forgotten = 0;
  return {
    get: (hash) => entries.get(hash),
    generation: () => forgotten,
    set(hash, signIn, generation) {
      if (generation !== forgotten) return;
      entries.delete(hash);
      entries.set(hash, signIn);
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
    forgetToken(tokenId) {
      forgotten += 1;
      for (const [hash, signIn] of entries) if (signIn.tokenId === tokenId) entries.delete(hash);
    },
  };
}
