/**
 * `GET /v1/sync/live` (WebSocket; token in `?token=` or the Authorization header). The client
 * sends `{type:'hello', deviceId, canPlan, name?, holder?}` (again whenever it changes) and may send
 * `{type:'ping'}` (answered `{type:'pong'}`) and `{type:'push', request, push}`: a small push, run
 * as `POST /v1/sync/push` with the connection's token and answered `{type:'pushed', request,
 * status, body}` with that route's answer (decision 0020). The server sends pokes and status
 * (live-hub.ts).
 * Every message counts as a sign of life: a connection silent for the hub's `idleMs` is closed.
 */
import { LiveClientMessageSchema, type LiveServerMessage } from '@baton/engine';
import { upgradeWebSocket } from '@hono/node-server';
import type { Hono } from 'hono';
import type { SqlRunner } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { LiveHub, LiveSession } from '../live/live-hub.ts';
import type { AppEnv } from './app-env.ts';

/** Remembers a device and when it was last seen (for a future devices page). */
async function recordDevice(
  db: SqlRunner,
  device: { userId: string; deviceId: string; name: string | null },
): Promise<void> {
  await db.query(
    `insert into devices (user_id, device_id, name, last_seen) values ($1, $2, $3, $4::bigint)
     on conflict (user_id, device_id)
     do update set name = coalesce(excluded.name, devices.name), last_seen = excluded.last_seen`,
    [device.userId, device.deviceId, device.name, Date.now()],
  );
}

/**
 * Runs a live `push` through the app as `POST <pushPath>` (auth, admission, the route's checks,
 * its metrics and pokes are the HTTP request's own) and gives the answer to send back.
 */
async function pushThroughApp(
  app: Hono<AppEnv>,
  pushPath: string,
  token: string,
  push: Record<string, unknown>,
): Promise<{ status: number; body: unknown }> {
  const response = await app.request(pushPath, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(push),
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { error: { kind: 'internal', message: `the push answered ${response.status}` } };
  }
  return { status: response.status, body };
}

export function addLiveRoute(options: {
  app: Hono<AppEnv>;
  path: string;
  /** Where `POST` pushes go (`/v1/sync/push`): a live `push` runs there. */
  pushPath: string;
  live: LiveHub;
  logger: Logger;
  db: SqlRunner;
}): void {
  const { live, logger } = options;
  options.app.get(
    options.path,
    upgradeWebSocket(
      (context) => {
        const userId = context.get('user').id;
        const tokenId = context.get('tokenId');
        // As auth.ts read it: a live push is sent on with the same token, checked again there.
        const token =
          context.req.header('authorization')?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] ??
          context.req.query('token') ??
          '';
        let session: LiveSession | undefined;
        return {
          onOpen(_event, socket) {
            session = live.connect({
              userId,
              tokenId,
              socket: {
                send: (text) => socket.send(text),
                close: (code, reason) => socket.close(code, reason),
                terminate: () =>
                  (socket.raw as { terminate?: () => void } | undefined)?.terminate?.(),
              },
            });
          },
          onMessage(event, socket) {
            const reply = (message: LiveServerMessage) => socket.send(JSON.stringify(message));
            session?.heard();
            let message: unknown;
            try {
              message = JSON.parse(String(event.data));
            } catch {
              message = undefined;
            }
            const parsed = LiveClientMessageSchema.safeParse(message);
            if (!parsed.success) {
              const issue = parsed.error.issues[0];
              const text = `unusable message${issue ? ` (${issue.path.join('.') || 'message'}: ${issue.message})` : ''}; expected {type:'hello', deviceId, canPlan}`;
              reply({ type: 'error', error: { kind: 'invalid', message: text } });
              return;
            }
            if (parsed.data.type === 'ping') reply({ type: 'pong' });
            else if (parsed.data.type === 'push') {
              const { request, push } = parsed.data;
              void pushThroughApp(options.app, options.pushPath, token, push)
                .catch((error: unknown): { status: number; body: unknown } => {
                  logger.warn({ err: error }, 'a live push failed');
                  const message = 'The relay could not take this push; it is sent again.';
                  return { status: 500, body: { error: { kind: 'internal', message } } };
                })
                .then((answer) => {
                  try {
                    reply({ type: 'pushed', request, ...answer });
                  } catch {
                    // The connection closed meanwhile: the device pushes again.
                  }
                });
            } else {
              const { deviceId, canPlan, name, holder } = parsed.data;
              session?.hello({
                deviceId,
                canPlan,
                ...(name ? { name } : {}),
                ...(holder ? { holder } : {}),
              });
              void recordDevice(options.db, {
                userId,
                deviceId: parsed.data.deviceId,
                name: parsed.data.name ?? null,
              }).catch((error: unknown) =>
                logger.warn({ err: error }, 'could not record the device'),
              );
            }
          },
          onClose() {
            session?.end();
          },
          onError(event) {
            logger.debug({ event: String(event) }, 'live socket error');
            session?.end();
          },
        };
      },
      { onError: (error) => logger.warn({ err: error }, 'live socket handler failed') },
    ),
  );
}
