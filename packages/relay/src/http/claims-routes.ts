/**
 * `POST /v1/claims` and `DELETE /v1/claims/:iterationId`: leases on iteration ids (design §2),
 * parsed with the engine's `ClaimRequestSchema`. Claims are per user: one user's lease is
 * invisible to every other user.
 */
import {
  ClaimHolderSchema,
  ClaimIterationIdSchema,
  ClaimRequestSchema,
  invalidFromZod,
  type ClaimResponse,
} from '@baton/engine';
import { z } from 'zod';
import { Hono } from 'hono';
import { claimIteration, releaseIteration } from '../claims/sql-claims.ts';
import type { Database } from '../db/database.ts';
import type { Metrics } from '../metrics.ts';
import type { AppEnv } from './app-env.ts';
import { readJson } from './read-json.ts';

/** A claim request is three short fields; anything near this size is not one. */
export const maxClaimBytes = 64 * 1024;

/** `DELETE /v1/claims/:iterationId[?holder=]`, its path and query. */
const ReleaseRequestSchema = z.object({
  iterationId: ClaimIterationIdSchema,
  holder: ClaimHolderSchema.optional(),
});

export function claimsRoutes(options: { db: Database; metrics: Metrics; now: () => number }) {
  const routes = new Hono<AppEnv>();

  routes.post('/', async (context) => {
    const { value } = await readJson(context, { maxBytes: maxClaimBytes });
    const parsed = ClaimRequestSchema.safeParse(value);
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const result: ClaimResponse = await claimIteration(options.db, {
      userId: context.get('user').id,
      iterationId: parsed.data.iterationId,
      holder: parsed.data.holder,
      ttlMs: parsed.data.ttlMs,
      requesterNow: parsed.data.now,
      retry: parsed.data.retry,
      now: options.now(),
    });
    options.metrics.claims.inc({ result: result.granted ? 'granted' : 'refused' });
    // A refusal says why (`refusal`, `reason`): a runner told `planned` stops and pulls.
    return context.json(result, result.granted ? 200 : 409);
  });

  routes.delete('/:iterationId', async (context) => {
    const parsed = ReleaseRequestSchema.safeParse({
      iterationId: context.req.param('iterationId'),
      holder: context.req.query('holder') || undefined,
    });
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const released = await releaseIteration(options.db, {
      userId: context.get('user').id,
      iterationId: parsed.data.iterationId,
      holder: parsed.data.holder,
      now: options.now(),
    });
    return context.json({ released });
  });

  return routes;
}
