/**
 * What the admin endpoint (`/admin/v1`, http/admin-routes.ts) takes and answers, parsed with zod
 * on both sides: by the relay for request bodies, by the CLI for answers.
 */
import { z } from 'zod';
import { UserNameSchema } from '../auth/users.ts';

/** A token's public id, as `token revoke` and `token rotate` take it. */
export const TokenIdSchema = z
  .string()
  .regex(/^tok_[0-9a-f]{16}$/, 'must be a token id such as tok_0123456789abcdef');

/** A token's optional name (where it is used: "laptop", "ci"). */
export const TokenNameSchema = z.string().trim().min(1).max(64);

export const AddUserBodySchema = z.strictObject({
  name: UserNameSchema,
  tokenName: TokenNameSchema.optional(),
});

export const AddTokenBodySchema = z.strictObject({
  /** The user's name (or id). */
  user: z.string().trim().min(1).max(64),
  name: TokenNameSchema.optional(),
});

export const TokenSummarySchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  /** Epoch ms. */
  createdAt: z.number(),
  /** Epoch ms, accurate to a minute; null when never used. */
  lastUsedAt: z.number().nullable(),
});
export type TokenSummary = z.infer<typeof TokenSummarySchema>;

const UserRefSchema = z.object({ id: z.string(), name: z.string() });

export const AdminUserSchema = UserRefSchema.extend({
  createdAt: z.number(),
  tokens: z.array(TokenSummarySchema),
});
export type AdminUser = z.infer<typeof AdminUserSchema>;

export const UserListSchema = z.object({ users: z.array(AdminUserSchema) });

/** A token just made (user add, token add, token rotate): the secret is shown this once. */
export const NewTokenSchema = z.object({
  user: UserRefSchema,
  token: z.object({ id: z.string(), name: z.string().nullable(), secret: z.string() }),
  /** Live connections closed because they used the token's old secret (rotate only). */
  closedConnections: z.number().optional(),
});
export type NewToken = z.infer<typeof NewTokenSchema>;

export const RevokedSchema = z.object({
  user: UserRefSchema,
  tokenId: z.string(),
  /** Live connections this relay closed at once (others, on PostgreSQL, close on notify). */
  closedConnections: z.number(),
});
export type Revoked = z.infer<typeof RevokedSchema>;

/** Which database a relay (or the CLI) uses: PGlite's data folder, or PostgreSQL's address. */
export const DatabaseInfoSchema = z.object({
  kind: z.enum(['pglite', 'postgres']),
  /** The absolute data folder, or host:port/database (never credentials). */
  location: z.string(),
});
export type DatabaseInfo = z.infer<typeof DatabaseInfoSchema>;
