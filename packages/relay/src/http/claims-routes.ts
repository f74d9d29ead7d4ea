/** `POST /v1/claims` and `DELETE /v1/claims/:iterationId`: leases on iteration ids (design §2). */
import { invalidFromZod } from '@baton/engine';
import { Hono } from 'hono';
import { z } from 'zod';
import { claimIteration, releaseIteration } from '../claims/sql-claims.ts';
import type { SqlRunner } from '../db/database.ts';
import type { Metrics } from '../metrics.ts';
import type { AppEnv } from './app-env.ts';
import { readJson } from './read-json.ts';

const ClaimSchema = z.object({
  iterationId: z.string().min(1).max(400),
  ttlMs: z.number().int().min(1_000).max(3_600_000),
  holder: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must match [A-Za-z0-9_.:-]{1,64}'),
});

export function claimsRoutes(options: { db: SqlRunner; metrics: Metrics; now: () => number }) {
  const routes = new Hono<AppEnv>();

  routes.post('/', async (context) => {
    const { value } = await readJson(context, { maxBytes: 64 * 1024 });
    const parsed = ClaimSchema.safeParse(value);
    if (!parsed.success) throw invalidFromZod(parsed.error);
    const result = await claimIteration(options.db, {
      userId: context.get('user').id,
      ...parsed.data,
      now: options.now(),
    });
    options.metrics.claims.inc({ result: result.granted ? 'granted' : 'refused' });
    return context.json(result, result.granted ? 200 : 409);
  });

  routes.delete('/:iterationId', async (context) => {
    const released = await releaseIteration(options.db, {
      userId: context.get('user').id,
      iterationId: context.req.param('iterationId'),
      holder: context.req.query('holder') || undefined,
    });
    return context.json({ released });
  });

  return routes;
}
