/**
 * Closing the live connections of a revoked (or rotated) token on every relay instance. HTTP
 * requests look the token up each time, so they are refused at once anyway; a live connection
 * authenticated once, at its start, so it must be told. On PostgreSQL the revocation is
 * published on `tokensChannel` (whoever revoked: an instance's admin endpoint or the CLI acting
 * on the database), and every instance closes its own connections made with that token.
 */
import { z } from 'zod';
import type { Database } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { LiveHub } from './live-hub.ts';

export const tokensChannel = 'baton_tokens';

const RevokedMessageSchema = z.object({
  kind: z.literal('revoked'),
  userId: z.string(),
  tokenId: z.string(),
});

export interface RevokedToken {
  userId: string;
  tokenId: string;
}

/** Tells the other instances on one PostgreSQL (nothing to tell on PGlite: one process). */
export async function publishRevokedToken(db: Database, revoked: RevokedToken): Promise<void> {
  if (db.kind !== 'postgres') return;
  await db.notify(tokensChannel, JSON.stringify({ kind: 'revoked', ...revoked }));
}

/** Closes this instance's connections of every token revoked elsewhere; resolves to stop. */
export async function listenForRevokedTokens(options: {
  db: Database;
  live: LiveHub;
  logger: Logger;
}): Promise<() => Promise<void>> {
  return options.db.listen(tokensChannel, (payload) => {
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      value = undefined;
    }
    const parsed = RevokedMessageSchema.safeParse(value);
    if (!parsed.success) {
      options.logger.warn({ payload: payload.slice(0, 200) }, 'ignored an unusable token message');
      return;
    }
    const closed = options.live.closeToken(parsed.data);
    if (closed > 0)
      options.logger.info(
        { ...parsed.data, closed },
        'closed the live connections of a revoked token',
      );
  });
}
