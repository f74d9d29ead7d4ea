/**
 * Joins the live hubs of several relay instances on one PostgreSQL through LISTEN/NOTIFY on one
 * channel: pokes reach a user's connections on every instance, and each instance learns which
 * devices are connected elsewhere (so "covered" means covered on any instance).
 *
 * Messages (JSON): `poke {userId, cursor}`, `presence-change {userId, set, left}` (on a local
 * change: only the devices that joined or changed, and the ids of those that left),
 * `presence {userId, devices}` (the instance's whole list for a user: for every user with devices
 * every `heartbeatMs`, which also mends a change lost or reordered on the way), `hello` (a new
 * instance asks the others to publish their presence now) and `bye` (an instance stopping). A
 * peer's presence older than `expiryMs` is ignored, so an instance that died without `bye` stops
 * covering its users.
 */
import { CursorSchema, DevicePresenceSchema } from '@baton/engine';
import { z } from 'zod';
import type { Database } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { samePresence, type DevicePresence, type LiveHub, type PeerPresence } from './live-hub.ts';

export const liveChannel = 'baton_live';

/** What instances tell each other on `liveChannel`; `from` names the sending process. */
export const BridgeMessageSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('poke'),
    from: z.string(),
    userId: z.string(),
    cursor: CursorSchema,
    /** The device that pushed (`LogCommit.pushedBy`): not poked. */
    pushedBy: z.string().max(200).optional(),
  }),
  z.object({
    kind: z.literal('presence'),
    from: z.string(),
    userId: z.string(),
    devices: z.array(DevicePresenceSchema),
  }),
  z.object({
    kind: z.literal('presence-change'),
    from: z.string(),
    userId: z.string(),
    set: z.array(DevicePresenceSchema),
    left: z.array(z.string()),
  }),
  z.object({ kind: z.literal('hello'), from: z.string() }),
  z.object({ kind: z.literal('bye'), from: z.string() }),
]);
type BridgeMessage = z.infer<typeof BridgeMessageSchema>;

export interface PresenceBridge extends PeerPresence {
  /** Sends a poke to the user's connections on the other instances. */
  publishPoke(commit: { userId: string; cursor: string; pushedBy?: string }): void;
  close(): Promise<void>;
}

export async function createPresenceBridge(options: {
  db: Database;
  /** Names this process on the channel (unique per process, so twins still hear each other). */
  processId: string;
  /** Resolved lazily: the hub is created with `peers` pointing at this bridge. */
  live: () => LiveHub;
  logger: Logger;
  heartbeatMs?: number;
  expiryMs?: number;
  now?: () => number;
}): Promise<PresenceBridge> {
  const { db, processId, logger } = options;
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const expiryMs = options.expiryMs ?? 3 * heartbeatMs;
  const now = options.now ?? Date.now;
  /** instance → user → devices, with when it was heard. */
  const remote = new Map<string, Map<string, { devices: DevicePresence[]; heardAt: number }>>();
  /** Per user, this instance's devices as last published (by device id). */
  const published = new Map<string, Map<string, DevicePresence>>();

  const publish = (message: BridgeMessage) => {
    db.notify(liveChannel, JSON.stringify(message)).catch((error: unknown) =>
      logger.warn({ err: error }, 'live notify failed'),
    );
  };
  const publishChange = (userId: string) => {
    const devices = options.live().localDevices(userId);
    const before = published.get(userId) ?? new Map<string, DevicePresence>();
    const current = new Map(devices.map((device) => [device.deviceId, device]));
    if (current.size > 0) published.set(userId, current);
    else published.delete(userId);
    const set = devices.filter((device) => !samePresence(before.get(device.deviceId), device));
    const left = [...before.keys()].filter((deviceId) => !current.has(deviceId));
    if (set.length > 0 || left.length > 0)
      publish({ kind: 'presence-change', from: processId, userId, set, left });
  };
  const publishAll = () => {
    for (const [userId, devices] of published)
      publish({ kind: 'presence', from: processId, userId, devices: [...devices.values()] });
  };

  function receive(payload: string): void {
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      value = undefined;
    }
    const parsed = BridgeMessageSchema.safeParse(value);
    if (!parsed.success) {
      logger.warn({ payload: payload.slice(0, 200) }, 'ignored an unusable live bridge message');
      return;
    }
    const message = parsed.data;
    if (message.from === processId) return;
    const live = options.live();
    switch (message.kind) {
      case 'poke':
        live.poke({
          userId: message.userId,
          cursor: message.cursor,
          ...(message.pushedBy === undefined ? {} : { pushedBy: message.pushedBy }),
        });
        break;
      case 'presence': {
        let users = remote.get(message.from);
        if (!users) remote.set(message.from, (users = new Map()));
        users.set(message.userId, { devices: message.devices, heardAt: now() });
        live.presenceChanged(message.userId);
        break;
      }
      case 'presence-change': {
        let users = remote.get(message.from);
        if (!users) remote.set(message.from, (users = new Map()));
        const entry = users.get(message.userId);
        // An expired list is not revived by a change: start from what the change says.
        const known = entry && entry.heardAt >= now() - expiryMs ? entry.devices : [];
        const changed = new Set([...message.left, ...message.set.map((device) => device.deviceId)]);
        const devices = [
          ...known.filter((device) => !changed.has(device.deviceId)),
          ...message.set,
        ];
        if (devices.length > 0) users.set(message.userId, { devices, heardAt: now() });
        else users.delete(message.userId);
        live.presenceChanged(message.userId);
        break;
      }
      case 'hello':
        publishAll();
        break;
      case 'bye': {
        const users = remote.get(message.from);
        remote.delete(message.from);
        for (const userId of users?.keys() ?? []) live.presenceChanged(userId);
        break;
      }
    }
  }

  const unlisten = await db.listen(liveChannel, receive);
  const stopLocal = options.live().onLocalPresence(publishChange);
  const heartbeat = setInterval(publishAll, heartbeatMs);
  heartbeat.unref();
  publish({ kind: 'hello', from: processId });

  return {
    coveredUserIds() {
      const cutoff = now() - expiryMs;
      const covered = new Set<string>();
      for (const users of remote.values()) {
        for (const [userId, entry] of users) {
          if (entry.heardAt >= cutoff && entry.devices.some((device) => device.canPlan))
            covered.add(userId);
        }
      }
      return covered;
    },
    peers(userId) {
      const cutoff = now() - expiryMs;
      const devices: DevicePresence[] = [];
      for (const users of remote.values()) {
        const entry = users.get(userId);
        if (entry && entry.heardAt >= cutoff) devices.push(...entry.devices);
      }
      return devices;
    },
    publishPoke(commit) {
      publish({ kind: 'poke', from: processId, ...commit });
    },
    async close() {
      clearInterval(heartbeat);
      stopLocal();
      await db
        .notify(
          liveChannel,
          JSON.stringify({ kind: 'bye', from: processId } satisfies BridgeMessage),
        )
        .catch(() => undefined);
      await unlisten().catch(() => undefined);
    },
  };
}
