/**
 * `POST /v1/sync/push` and `GET /v1/sync/pull` (design §3 wire format), parsed with the engine's
 * wire schemas so the relay refuses exactly what clients are told is invalid. A rejected push
 * writes nothing: the whole body is validated before the one transaction that appends and merges.
 */
import {
  EngineError,
  PullQuerySchema,
  PushRequestSchema,
  invalidFromZod,
  pushStampProblem,
  maxPushBytes,
  maxPushChanges,
  type Change,
  type PullResponse,
  type PushResponse,
} from '@baton/engine';
import { Hono } from 'hono';
import type { Database } from '../db/database.ts';
import type { Metrics } from '../metrics.ts';
import type { LogCommit } from '../live/live-hub.ts';
import { pullChanges, userCursor } from '../store/change-log.ts';
import { pushChanges } from '../store/push-changes.ts';
import type { AppEnv } from './app-env.ts';
import { readJson } from './read-json.ts';

/** The user's cursor `count` changes before `cursor` (both in the user's own sequence). */
function cursorBefore(cursor: string, count: number): string {
  return userCursor((BigInt(cursor.replace(/^u/, '')) - BigInt(count)).toString());
}

export function syncRoutes(options: {
  db: Database;
  metrics: Metrics;
  now: () => number;
  /** What one user may store (changes in the log, and their bytes). */
  quota?: { changes: number; bytes: number };
  /** After a push appended changes: with them, when every pushed change was new (see below). */
  onAppended: (commit: LogCommit) => void;
}) {
  const routes = new Hono<AppEnv>();

  routes.post('/push', async (context) => {
    const { value, bytes } = await readJson(context, { maxBytes: maxPushBytes });
    // Too many changes is "too large" (413), checked before the schema (which says 400).
    const changes = (value as { changes?: unknown } | null)?.changes;
    if (Array.isArray(changes) && changes.length > maxPushChanges) {
      throw new EngineError(
        'too_large',
        `At most ${maxPushChanges} changes per push; this one has ${changes.length}.`,
      );
    }
    const parsed = PushRequestSchema.safeParse(value);
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const now = options.now();
    const drift = pushStampProblem(parsed.data.changes as Change[], now);
    if (drift) throw drift;
    const userId = context.get('user').id;
    const result = await pushChanges({
      db: options.db,
      userId,
      changes: parsed.data.changes as Change[],
      now,
      ...(options.quota ? { quota: options.quota } : {}),
    });
    options.metrics.pushRequests.inc();
    options.metrics.pushBytes.observe(bytes);
    options.metrics.pushedChanges.inc({ result: 'accepted' }, result.accepted);
    options.metrics.pushedChanges.inc({ result: 'duplicate' }, result.duplicates);
    // Every pushed change was new, so they were numbered in order just before `cursor` (one
    // user's numbers are given without gaps, under the user's lock): the poke may carry them,
    // and the pushing device may move its cursor past them (decision 0017). With duplicates,
    // which ones were appended is not known here: a plain poke, and no `since`.
    const since =
      result.appended && result.duplicates === 0
        ? cursorBefore(result.cursor, result.accepted)
        : undefined;
    if (result.appended)
      options.onAppended({
        userId,
        cursor: result.cursor,
        pushedBy: parsed.data.deviceId,
        ...(since === undefined
          ? {}
          : { appended: { since, changes: parsed.data.changes as Change[] } }),
      });
    const body: PushResponse = {
      accepted: result.accepted,
      duplicates: result.duplicates,
      cursor: result.cursor,
      ...(since === undefined ? {} : { since }),
    };
    return context.json(body);
  });

  routes.get('/pull', async (context) => {
    const parsed = PullQuerySchema.safeParse({
      since: context.req.query('since') || undefined,
      limit: context.req.query('limit') || undefined,
    });
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const page: PullResponse = await pullChanges(options.db, {
      userId: context.get('user').id,
      since: parsed.data.since ?? '0',
      limit: parsed.data.limit,
    });
    const text = JSON.stringify(page);
    options.metrics.pullRequests.inc();
    options.metrics.pulledChanges.inc(page.changes.length);
    options.metrics.pullBytes.observe(Buffer.byteLength(text));
    return context.body(text, 200, { 'content-type': 'application/json' });
  });

  return routes;
}
