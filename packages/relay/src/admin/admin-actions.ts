/**
 * What the admin commands do to users and tokens, on a database: the relay's admin endpoint
 * runs them in the relay's process (http/admin-routes.ts), and the CLI runs them itself when no
 * relay holds the database (cli.ts). Missing users and tokens are `not_found`, a taken name is
 * a `conflict`. Revoking or rotating a token closes its live connections: `closeLocal` closes
 * this process's, and on PostgreSQL the revocation is published to every instance.
 */
import { EngineError, type LanguageModel } from '@baton/engine';
import { addToken, deleteToken, listTokens, newToken, replaceTokenSecret } from '../auth/tokens.ts';
import { createUser, findUserByName, listUsers, type User } from '../auth/users.ts';
import type { Database } from '../db/database.ts';
import { publishRevokedToken, type RevokedToken } from '../live/token-revocations.ts';
import type { AdminUser, NewToken, Revoked } from './admin-schemas.ts';
import { replayOnDatabase, type ReplayBody, type ReplayReport } from './replay-action.ts';

export interface AdminActions {
  listUsers(): Promise<AdminUser[]>;
  addUser(options: { name: string; tokenName?: string | undefined }): Promise<NewToken>;
  /** `user` is a user's name or id. */
  addToken(options: { user: string; name?: string | undefined }): Promise<NewToken>;
  revokeToken(options: { tokenId: string }): Promise<Revoked>;
  rotateToken(options: { tokenId: string }): Promise<NewToken>;
  /** A past run planned again on the relay's model, as a dry run (replay-action.ts). */
  replay(options: ReplayBody): Promise<ReplayReport>;
}

export function createAdminActions(options: {
  db: Database;
  /** Closes this process's live connections made with a token; returns how many. */
  closeLocal?: (revoked: RevokedToken) => number;
  now?: () => number;
  /** The relay's model endpoint, for `replay`. */
  model?: LanguageModel | undefined;
}): AdminActions {
  const { db } = options;
  const now = options.now ?? Date.now;

  async function userById(userId: string): Promise<User> {
    const rows = await db.query<User>('select id, name from users where id = $1', [userId]);
    if (!rows[0]) throw new EngineError('not_found', `No user with id ${userId}.`);
    return rows[0];
  }

  async function closeConnections(revoked: RevokedToken): Promise<number> {
    const closed = options.closeLocal?.(revoked) ?? 0;
    await publishRevokedToken(db, revoked);
    return closed;
  }

  const notFoundToken = (tokenId: string) =>
    new EngineError('not_found', `No token ${tokenId} (see: user list).`, { field: 'tokenId' });

  return {
    async listUsers() {
      const [users, tokens] = await Promise.all([listUsers({ db }), listTokens({ db })]);
      return users.map((user) => ({
        ...user,
        tokens: tokens
          .filter((token) => token.userId === user.id)
          .map(({ id, name, createdAt, lastUsedAt }) => ({ id, name, createdAt, lastUsedAt })),
      }));
    },

    async addUser({ name, tokenName }) {
      return db.transaction(async (runner) => {
        if (await findUserByName({ db: runner, name }))
          throw new EngineError('conflict', `A user named "${name}" already exists.`, {
            field: 'name',
          });
        const created = await createUser({
          db: runner,
          name,
          tokenName: tokenName ?? null,
          now: now(),
        });
        return {
          user: created.user,
          token: { id: created.tokenId, name: tokenName ?? null, secret: created.token },
        };
      });
    },

    async addToken({ user: nameOrId, name }) {
      const rows = await db.query<User>('select id, name from users where name = $1 or id = $1', [
        nameOrId,
      ]);
      const user = rows[0];
      if (!user)
        throw new EngineError('not_found', `No user named "${nameOrId}" (see: user list).`, {
          field: 'user',
        });
      const secret = newToken();
      const { tokenId } = await addToken({
        db,
        userId: user.id,
        token: secret,
        name: name ?? null,
        now: now(),
      });
      return { user, token: { id: tokenId, name: name ?? null, secret } };
    },

    async revokeToken({ tokenId }) {
      const deleted = await deleteToken({ db, tokenId });
      if (!deleted) throw notFoundToken(tokenId);
      const closedConnections = await closeConnections({ userId: deleted.userId, tokenId });
      return { user: await userById(deleted.userId), tokenId, closedConnections };
    },

    async rotateToken({ tokenId }) {
      const replaced = await replaceTokenSecret({ db, tokenId });
      if (!replaced) throw notFoundToken(tokenId);
      const closedConnections = await closeConnections({ userId: replaced.userId, tokenId });
      return {
        user: await userById(replaced.userId),
        token: { id: tokenId, name: replaced.name, secret: replaced.token },
        closedConnections,
      };
    },

    replay: (request) => replayOnDatabase({ db, model: options.model, request, now }),
  };
}
