/**
 * Where a request came from and what it proves: loopback (this machine) and shared-secret
 * bearer checks for the routes that are not for users (`/metrics`, `/admin/v1`).
 */
import { timingSafeEqual } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

const loopbackAddresses = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Whether the request came over a loopback socket (false when it did not come over one). */
export function fromLoopback(context: Context): boolean {
  try {
    return loopbackAddresses.has(getConnInfo(context).remote.address ?? '');
  } catch {
    return false;
  }
}

/** Whether the request carries `Authorization: Bearer <secret>` (compared in constant time). */
export function bearerIs(context: Context, secret: string | undefined): boolean {
  if (!secret) return false;
  const given = Buffer.from(context.req.header('authorization') ?? '');
  const expected = Buffer.from(`Bearer ${secret}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
