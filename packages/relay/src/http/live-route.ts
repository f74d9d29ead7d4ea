/**
 * `GET /v1/sync/live` (WebSocket; token in `?token=` or the Authorization header). The client
 * sends `{type:'hello', deviceId, canPlan, name?, holder?}` (again whenever it changes) and may send
 * `{type:'ping'}` (answered `{type:'pong'}`); the server sends pokes and status (live-hub.ts).
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

export function addLiveRoute(options: {
  app: Hono<AppEnv>;
  path: string;
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
            else {
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
