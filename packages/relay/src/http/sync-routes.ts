/**
 * `POST /v1/sync/push` and `GET /v1/sync/pull` (design §3 wire format). A rejected push writes
 * nothing: the whole body is validated before the one transaction that appends and merges.
 */
import {
  ChangeSchema,
  EngineError,
  NodeIdSchema,
  hlcWallMs,
  invalidFromZod,
  maxDriftMs,
  type Change,
} from '@baton/engine';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Database } from '../db/database.ts';
import type { Metrics } from '../metrics.ts';
import { pullChanges } from '../store/change-log.ts';
import { pushChanges } from '../store/push-changes.ts';
import type { AppEnv } from './app-env.ts';
import { readJson } from './read-json.ts';

export const maxPushChanges = 1_000;
export const maxPushBytes = 5 * 1024 * 1024;
export const maxPullLimit = 1_000;

const PushSchema = z.object({
  deviceId: NodeIdSchema,
  changes: z.array(ChangeSchema),
});

const PullQuerySchema = z.object({
  since: z
    .string()
    .regex(/^\d{1,19}$/, 'must be a cursor returned by the relay')
    .optional(),
  limit: z.coerce.number().int().min(1).max(maxPullLimit).default(500),
});

export function syncRoutes(options: {
  db: Database;
  metrics: Metrics;
  now: () => number;
  onAppended: (commit: { userId: string; cursor: string }) => void;
}) {
  const routes = new Hono<AppEnv>();

  routes.post('/push', async (context) => {
    const { value, bytes } = await readJson(context, { maxBytes: maxPushBytes });
    const changeCount = (value as { changes?: unknown })?.changes;
    if (Array.isArray(changeCount) && changeCount.length > maxPushChanges) {
      throw new EngineError(
        'too_large',
        `At most ${maxPushChanges} changes per push; this one has ${changeCount.length}.`,
      );
    }
    const parsed = PushSchema.safeParse(value);
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const now = options.now();
    parsed.data.changes.forEach((change, index) => {
      if (hlcWallMs(change.hlc) > now + maxDriftMs) {
        throw new EngineError(
          'clock',
          `changes.${index}.hlc: the stamp is more than 10 minutes ahead of the relay's clock; check this device's clock.`,
          {
            field: `changes.${index}.hlc`,
          },
        );
      }
    });
    const userId = context.get('user').id;
    const result = await pushChanges({
      db: options.db,
      userId,
      changes: parsed.data.changes as Change[],
      now,
    });
    options.metrics.pushRequests.inc();
    options.metrics.pushBytes.observe(bytes);
    options.metrics.pushedChanges.inc({ result: 'accepted' }, result.accepted);
    options.metrics.pushedChanges.inc({ result: 'duplicate' }, result.duplicates);
    if (result.appended) options.onAppended({ userId, cursor: result.cursor });
    return context.json({
      accepted: result.accepted,
      duplicates: result.duplicates,
      cursor: result.cursor,
    });
  });

  routes.get('/pull', async (context) => {
    const parsed = PullQuerySchema.safeParse({
      since: context.req.query('since') || undefined,
      limit: context.req.query('limit') || undefined,
    });
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const page = await pullChanges(options.db, {
      userId: context.get('user').id,
      since: parsed.data.since ?? '0',
      limit: parsed.data.limit,
    });
    options.metrics.pullRequests.inc();
    options.metrics.pulledChanges.inc(page.changes.length);
    return context.json(page);
  });

  return routes;
}
