/**
 * The admin actions of a running relay, over its loopback admin endpoint (http/admin-routes.ts):
 * the same `AdminActions` the CLI runs on a database when no relay holds it. Answers are parsed
 * with the admin schemas; an error answer becomes the EngineError it describes.
 */
import { EngineError, ErrorBodySchema, engineErrorKinds } from '@baton/engine';
import type { z } from 'zod';
import type { AdminActions } from '../admin/admin-actions.ts';
import {
  DatabaseInfoSchema,
  NewTokenSchema,
  RevokedSchema,
  UserListSchema,
  type DatabaseInfo,
} from '../admin/admin-schemas.ts';
import { ReplayReportSchema } from '../admin/replay-action.ts';
import { adminPath } from '../http/admin-routes.ts';

const timeoutMs = 10_000;

async function call<Schema extends z.ZodType>(
  options: { url: string; secret?: string },
  path: string,
  schema: Schema,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<z.infer<Schema>> {
  const headers: Record<string, string> = {};
  if (options.secret) headers.authorization = `Bearer ${options.secret}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${options.url}${adminPath}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(init.timeoutMs ?? timeoutMs),
  });
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = ErrorBodySchema.safeParse(body);
    if (!error.success)
      throw new EngineError('unavailable', `The relay answered ${response.status} at ${path}.`);
    const kind = engineErrorKinds.find((known) => known === error.data.error.kind) ?? 'internal';
    throw new EngineError(kind, error.data.error.message);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new EngineError(
      'unavailable',
      `The relay's answer at ${path} is not one this CLI reads.`,
    );
  return parsed.data;
}

/**
 * Which database the relay at `url` uses, or undefined when nothing there answers as a relay's
 * admin endpoint (nothing listens, another program, or a relay from before admin routes).
 */
export async function probeRelayDatabase(url: string): Promise<DatabaseInfo | undefined> {
  try {
    return await call({ url }, '/database', DatabaseInfoSchema, { timeoutMs: 2_000 });
  } catch {
    return undefined;
  }
}

export function createAdminClient(options: { url: string; secret: string }): AdminActions {
  const tokenPath = (tokenId: string) => `/tokens/${encodeURIComponent(tokenId)}`;
  return {
    listUsers: async () => (await call(options, '/users', UserListSchema)).users,
    addUser: (input) => call(options, '/users', NewTokenSchema, { body: input }),
    addToken: (input) => call(options, '/tokens', NewTokenSchema, { body: input }),
    revokeToken: ({ tokenId }) =>
      call(options, tokenPath(tokenId), RevokedSchema, { method: 'DELETE' }),
    rotateToken: ({ tokenId }) =>
      call(options, `${tokenPath(tokenId)}/rotate`, NewTokenSchema, { method: 'POST' }),
    // Up to six model rounds, each with the relay's own timeout.
    replay: (input) =>
      call(options, '/replay', ReplayReportSchema, { body: input, timeoutMs: 15 * 60_000 }),
  };
}
