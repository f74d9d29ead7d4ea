/**
 * Live connections on this instance: who is connected (presence) and pokes. A user is *covered*
 * while at least one connected device said it can plan. Presence is in memory, per instance;
 * `peers` (optional) adds presence reported by other instances (see presence-bridge.ts).
 *
 * Server → client messages (the engine's `LiveServerMessageSchema`):
 *   `{type:'poke', cursor}` after every new change in the user's log; after a small push also
 *   `since` and the pushed `changes` (at most 200, about 256 KB), so a device at `since` applies
 *   them without a pull (decision 9),
 *   `{type:'status', devices:[{deviceId, canPlan, name?}], covered}` once, to a connection's first
 *   hello; after it, only what changed: `{type:'device', device, covered}` (a device joined or
 *   changed `canPlan` or `name`) and `{type:'device-left', deviceId, covered}`. So a hello costs
 *   each other connection of the user one small message, not the whole list (500 connections of
 *   one user opened one after another sent 500 lists to 500 sockets before),
 *   `{type:'error', error:{kind, message}}` for a message it could not use.
 *
 * A connection that sends nothing for `idleMs` (clients ping every 20 s) is closed, so a device
 * that vanished without a close (sleep, lost network) stops covering its user.
 *
 * A connection whose `hello` named a claim holder (the engine host that plans on that device)
 * hands that holder to `onHolderGone` once it ended and no connection of the user on this
 * instance has named the holder again for `holderGraceMs`: the relay then releases its claims
 * granted before the connection ended.
 */
import {
  pokeAfterAppend,
  type Change,
  type DevicePresence,
  type LiveServerMessage,
} from '@baton/engine';

export type { DevicePresence };

/** A commit to a user's log, as the hub pokes about it. */
export interface LogCommit {
  userId: string;
  /** The log's end after the commit. */
  cursor: string;
  /**
   * What the commit appended, when the caller knows it whole: every change after `since` up to
   * `cursor`, in commit order. A small one rides along in the poke (`pokeAfterAppend`).
   */
  appended?: { since: string; changes: readonly Change[] };
  /**
   * The device whose push made the commit. It is not poked: it has the changes, and it pulls
   * after every push (the engine's `syncRound`), so a poke would only send them back to it.
   */
  pushedBy?: string;
}

export interface LiveSocket {
  send(text: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Drops the connection at once (a peer that does not answer the close). */
  terminate(): void;
}

export interface LiveSession {
  /** Sets (or updates) what this connection says about its device, and its claim holder. */
  hello(presence: DevicePresence & { holder?: string }): void;
  /** The client sent something: the idle timer starts again. */
  heard(): void;
  /** The connection ended. */
  end(): void;
}

export interface LiveHub {
  /** `tokenId` names the token the connection signed in with (see `closeToken`). */
  connect(options: { userId: string; socket: LiveSocket; tokenId?: string }): LiveSession;
  /**
   * Tells the user's connections on this instance that the log grew to `cursor`, with the
   * appended changes when they are few (see `LogCommit`).
   */
  poke(commit: LogCommit): void;
  /** Devices connected to this instance for a user. */
  localDevices(userId: string): DevicePresence[];
  /** Devices for a user across instances (this one plus `peers`). */
  devices(userId: string): DevicePresence[];
  isCovered(userId: string): boolean;
  /** Users covered now, on this instance or (through `peers`) another. */
  coveredUserIds(): Set<string>;
  /** Called when a user's local presence changes (the bridge publishes it to other instances). */
  onLocalPresence(listener: (userId: string) => void): () => void;
  /** Presence of other instances changed for a user: tell local connections what changed. */
  presenceChanged(userId: string): void;
  connectionCount(): number;
  /** Closes the user's connections made with this token (revoked or rotated: 4001); returns how many. */
  closeToken(options: { userId: string; tokenId: string }): number;
  /** Closes every connection (shutdown). */
  close(): void;
}

/** Presence on other instances (see presence-bridge.ts). */
export interface PeerPresence {
  peers(userId: string): DevicePresence[];
  coveredUserIds(): Iterable<string>;
}

export interface LiveHubOptions {
  /** Devices connected to other instances; resolved on each use, so it may be set later. */
  peers?: () => PeerPresence | undefined;
  onConnectionCount?: (count: number) => void;
  /** A connection silent this long is closed (default 60 000 ms, three client pings). */
  idleMs?: number;
  /** After asking a socket to close (idle, shutdown), drop it if still open after this long. */
  closeGraceMs?: number;
  /** A claim holder whose connections all ended and stayed ended for `holderGraceMs`. */
  /** `endedAt`: when the holder's last connection on this instance ended (epoch ms). */
  onHolderGone?: (gone: { userId: string; holder: string; endedAt: number }) => void;
  /** How long a holder may be away before `onHolderGone` (default 10 000 ms). */
  holderGraceMs?: number;
  /** Live connections of one user on this instance at most; a new one beyond is closed (4029). */
  maxPerUser?: number;
}

interface Connection {
  socket: LiveSocket;
  tokenId: string | undefined;
  presence: DevicePresence | undefined;
  holder: string | undefined;
  end(): void;
}

/** Merges one device's presence from several connections: can plan if any can, first name. */
function mergePresence(known: DevicePresence | undefined, next: DevicePresence): DevicePresence {
  const name = known?.name ?? next.name;
  return {
    deviceId: next.deviceId,
    canPlan: next.canPlan || (known?.canPlan ?? false),
    ...(name ? { name } : {}),
  };
}

/** Whether `a` says the same as `b` about the device (so telling it again would change nothing). */
export const samePresence = (a: DevicePresence | undefined, b: DevicePresence) =>
  a !== undefined && a.canPlan === b.canPlan && a.name === b.name;

export function createLiveHub(options: LiveHubOptions = {}): LiveHub {
  const idleMs = options.idleMs ?? 60_000;
  const closeGraceMs = options.closeGraceMs ?? 1_000;
  const holderGraceMs = options.holderGraceMs ?? 10_000;
  const byUser = new Map<string, Set<Connection>>();
  /** Per user, the devices as the user's greeted connections were last told (by device id). */
  const told = new Map<string, Map<string, DevicePresence>>();
  /** Holders whose connection ended, by user and holder, until the grace runs out. */
  const goneTimers = new Map<string, ReturnType<typeof setTimeout>>();
  const goneKey = (userId: string, holder: string) => JSON.stringify([userId, holder]);

  const holderConnected = (userId: string, holder: string) =>
    [...(byUser.get(userId) ?? [])].some((connection) => connection.holder === holder);

  /** A connection that named `holder` ended: after the grace, unless it came back, it is gone. */
  const holderLeft = (userId: string, holder: string) => {
    if (!options.onHolderGone || holderConnected(userId, holder)) return;
    const key = goneKey(userId, holder);
    clearTimeout(goneTimers.get(key));
    const endedAt = Date.now();
    const timer = setTimeout(() => {
      goneTimers.delete(key);
      if (!closed && !holderConnected(userId, holder))
        options.onHolderGone?.({ userId, holder, endedAt });
    }, holderGraceMs);
    timer.unref?.();
    goneTimers.set(key, timer);
  };
  const listeners = new Set<(userId: string) => void>();
  let count = 0;
  let closed = false;

  /** Asks the socket to close, and drops it if the peer does not answer in time. */
  const closeSocket = (socket: LiveSocket, code: number, reason: string) => {
    try {
      socket.close(code, reason);
    } catch {
      // Already closed.
    }
    setTimeout(() => socket.terminate(), closeGraceMs).unref?.();
  };

  const sendText = (connection: Connection, text: string) => {
    try {
      connection.socket.send(text);
    } catch {
      // A socket that closed mid-send ends through its close event.
    }
  };
  const send = (connection: Connection, message: LiveServerMessage) =>
    sendText(connection, JSON.stringify(message));

  function localDevices(userId: string): DevicePresence[] {
    const devices = new Map<string, DevicePresence>();
    for (const connection of byUser.get(userId) ?? []) {
      const presence = connection.presence;
      if (!presence) continue;
      devices.set(presence.deviceId, mergePresence(devices.get(presence.deviceId), presence));
    }
    return [...devices.values()];
  }

  function devices(userId: string): DevicePresence[] {
    const merged = new Map<string, DevicePresence>();
    for (const device of [...localDevices(userId), ...(options.peers?.()?.peers(userId) ?? [])])
      merged.set(device.deviceId, mergePresence(merged.get(device.deviceId), device));
    return [...merged.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  }

  /**
   * Tells the user's greeted connections what changed in their devices since they were last
   * told, and `greeted` (a connection whose first hello this is) the whole list instead.
   */
  function sendChanges(userId: string, greeted?: Connection): void {
    const connections = byUser.get(userId);
    if (!connections) {
      told.delete(userId);
      return;
    }
    const current = devices(userId);
    const covered = current.some((device) => device.canPlan);
    const before = told.get(userId) ?? new Map<string, DevicePresence>();
    const now = new Map(current.map((device) => [device.deviceId, device]));
    told.set(userId, now);
    const changes: string[] = [];
    for (const device of current)
      if (!samePresence(before.get(device.deviceId), device))
        changes.push(
          JSON.stringify({ type: 'device', device, covered } satisfies LiveServerMessage),
        );
    for (const deviceId of before.keys())
      if (!now.has(deviceId))
        changes.push(
          JSON.stringify({ type: 'device-left', deviceId, covered } satisfies LiveServerMessage),
        );
    if (changes.length > 0)
      for (const connection of connections)
        if (connection.presence && connection !== greeted)
          for (const text of changes) sendText(connection, text);
    if (greeted) send(greeted, { type: 'status', devices: current, covered });
  }

  function localChanged(userId: string, greeted?: Connection): void {
    sendChanges(userId, greeted);
    for (const listener of listeners) listener(userId);
  }

  const setCount = (delta: number) => {
    count += delta;
    options.onConnectionCount?.(count);
  };

  return {
    connect({ userId, socket, tokenId }) {
      if (closed) {
        // A connection that completed its handshake during shutdown.
        closeSocket(socket, 1001, 'relay shutting down');
        return { hello() {}, heard() {}, end() {} };
      }
      const open = byUser.get(userId)?.size ?? 0;
      if (open >= (options.maxPerUser ?? 20)) {
        closeSocket(
          socket,
          4029,
          `too many live connections for this user (at most ${options.maxPerUser ?? 20})`,
        );
        return { hello() {}, heard() {}, end() {} };
      }
      const connection: Connection = {
        socket,
        tokenId,
        presence: undefined,
        holder: undefined,
        end: () => end(),
      };
      let connections = byUser.get(userId);
      if (!connections) byUser.set(userId, (connections = new Set()));
      connections.add(connection);
      setCount(1);
      let ended = false;
      let idleTimer: ReturnType<typeof setTimeout> | undefined;
      const end = () => {
        if (ended) return;
        ended = true;
        clearTimeout(idleTimer);
        connections.delete(connection);
        if (connections.size === 0 && byUser.get(userId) === connections) byUser.delete(userId);
        setCount(-1);
        if (connection.presence && !closed) localChanged(userId);
        if (connection.holder && !closed) holderLeft(userId, connection.holder);
      };
      const heard = () => {
        if (ended) return;
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          end();
          closeSocket(socket, 4000, `no message for ${Math.round(idleMs / 1000)} s`);
        }, idleMs);
        idleTimer.unref?.();
      };
      heard();
      return {
        hello(presence) {
          if (ended) return;
          const first = connection.presence === undefined;
          connection.presence = {
            deviceId: presence.deviceId,
            canPlan: presence.canPlan,
            ...(presence.name ? { name: presence.name } : {}),
          };
          const previous = connection.holder;
          connection.holder = presence.holder;
          if (presence.holder) {
            const key = goneKey(userId, presence.holder);
            clearTimeout(goneTimers.get(key));
            goneTimers.delete(key);
          }
          // Another host took the connection over (a new leader on the device): the one before
          // is gone unless it is connected elsewhere.
          if (previous && previous !== presence.holder) holderLeft(userId, previous);
          localChanged(userId, first ? connection : undefined);
        },
        heard,
        end,
      };
    },
    poke({ userId, cursor, appended, pushedBy }) {
      const connections = byUser.get(userId);
      if (!connections) return;
      const others = [...connections].filter(
        (connection) => pushedBy === undefined || connection.presence?.deviceId !== pushedBy,
      );
      if (others.length === 0) return;
      // One text for every connection: a poke with changes can be a few hundred KB.
      const text = JSON.stringify(
        pokeAfterAppend({ cursor, since: appended?.since, changes: appended?.changes ?? [] }),
      );
      for (const connection of others) sendText(connection, text);
    },
    localDevices,
    devices,
    isCovered: (userId) => devices(userId).some((device) => device.canPlan),
    coveredUserIds() {
      const covered = new Set(options.peers?.()?.coveredUserIds() ?? []);
      for (const userId of byUser.keys())
        if (localDevices(userId).some((device) => device.canPlan)) covered.add(userId);
      return covered;
    },
    onLocalPresence(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    presenceChanged: (userId) => sendChanges(userId),
    connectionCount: () => count,
    closeToken({ userId, tokenId }) {
      const matching = [...(byUser.get(userId) ?? [])].filter(
        (connection) => connection.tokenId === tokenId,
      );
      for (const connection of matching) {
        connection.end();
        closeSocket(connection.socket, 4001, 'token revoked');
      }
      return matching.length;
    },
    close() {
      closed = true;
      for (const timer of goneTimers.values()) clearTimeout(timer);
      goneTimers.clear();
      for (const connections of [...byUser.values()]) {
        for (const connection of [...connections]) {
          connection.end();
          closeSocket(connection.socket, 1001, 'relay shutting down');
        }
      }
    },
  };
}
