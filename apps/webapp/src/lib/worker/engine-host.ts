import { ulid } from 'ulid';
import { createEngine, createHlc, hostNodeId, type Actor } from '@baton/engine';
import type { BatonDatabase } from '../db/database.ts';
import { createDexieStore } from '../db/dexie-store.ts';
import type { EngineApi, EngineStatus } from './engine-api.ts';
import { createHostApi } from './host-api.ts';
import { createHostChannel, type HostMessage } from './host-channel.ts';
import { loadHostSettings, readHostSettings } from './host-settings.ts';
import { createHostStatus } from './host-status.ts';
import { createLeadership, type Leadership } from './leadership.ts';
import { createMetaStore } from './meta.ts';
import { createDeviceModel } from './device-model.ts';
import { createRelayClaims } from './relay-claims.ts';
import type { RelayTarget } from './relay-http.ts';
import { createSyncClient } from './sync-client.ts';
import { createTickLoop } from './tick-loop.ts';

/** How long a new leader waits for its first pull before it ticks anyway. */
const firstPullMs = 15_000;

export interface HostOptions {
  db: BatonDatabase;
  /** The page origin: the relay serves the app, so it is the default relay address. */
  origin: string;
  host: EngineStatus['host'];
  /** Unique per worker instance (`hello` reports it before the host is ready). */
  hostId: string;
  /** `navigator.locks` where the browser has Web Locks (see leadership.ts). */
  locks: LockManager | undefined;
  /** The app build of the pages that started this worker. */
  version: () => string | null;
}

export interface EngineHost {
  api: Omit<EngineApi, 'hello'>;
  /**
   * No page is connected any more (a SharedWorker living on after its last tab): finish the run
   * in flight, push what it wrote, then stop planning and syncing and give up the leader lock,
   * so the relay (or another browser) takes the baton.
   */
  idle(): Promise<void>;
  /** A page connected again (a reload): lead and plan again as before. */
  resume(): void;
  close(): Promise<void>;
}

/**
 * The worker's composition root: Dexie store, engine, sync client, tick loop and the model,
 * exposed as the EngineApi (host-api.ts). Every host of this browser (SharedWorkers of any build,
 * dedicated per-tab workers) reads and writes IndexedDB for its own pages, but only the leader
 * (leadership.ts) ticks, plans and syncs; followers tell it about their writes over the hosts'
 * channel. Importing this module starts nothing; `createEngineHost` does.
 */
export async function createEngineHost(options: HostOptions): Promise<EngineHost> {
  const { db, hostId } = options;
  const meta = createMetaStore(db);
  const { deviceId, settings, deviceNames } = await loadHostSettings({ db, meta });
  const actor: Actor = { kind: 'user', deviceId };
  const target = (): RelayTarget => ({
    url: settings.relayUrl || options.origin,
    token: settings.token,
  });
  const now = () => Date.now();
  // Set once the rest exists (it calls back into it); until then this host does not lead.
  let leadership: Leadership | undefined = undefined;
  const isLeader = () => leadership?.isLeader() ?? false;
  let planning: EngineStatus['planning'] = null;

  // The HLC's last stamp survives restarts, so stamps never go backwards with the wall clock.
  // Its node id is this host's own (the device id and a suffix of the host id): the browser's
  // hosts share the device id, and two of them must never issue the same stamp.
  const lastStamp = await meta.get('hlc');
  const hlc = createHlc({
    nodeId: hostNodeId({ deviceId, hostId }),
    ...(lastStamp ? { last: lastStamp } : {}),
  });
  const hostStatus = createHostStatus({
    deviceId,
    settings,
    relayUrl: () => target().url,
    host: options.host,
    hostId,
    version: options.version,
    sync: () => sync,
    isLeader,
    planning: () => planning,
    lastTickAt: () => tickLoop.lastTickAt,
    hlc,
    db,
    meta,
    lastStamp,
    deviceNames,
  });
  const { announce } = hostStatus;

  const model = createDeviceModel({
    settings: () => ({
      endpoint: settings.modelEndpoint,
      apiKey: settings.modelKey,
      model: settings.modelName,
    }),
    relay: target,
  });
  const engine = createEngine({
    hlc,
    store: createDexieStore(db),
    clock: { now },
    ids: { ulid: () => ulid() },
    model,
    claims: createRelayClaims({ target, now, holder: hlc.nodeId }),
    nodeId: deviceId,
    runner: { kind: 'device', deviceId },
    onProgress: (progress) => {
      planning = progress.phase === 'done' ? null : { ...progress };
      announce();
    },
  });

  const sync = createSyncClient({
    db,
    meta,
    deviceId,
    holder: hlc.nodeId,
    deviceName: () => settings.deviceName,
    target,
    applyRemote: async (changes) => {
      const report = await engine.applyRemote(changes);
      if (report.refused.length > 0) console.warn('[baton] refused remote changes', report.refused);
      return report;
    },
    onChange: () => announce(),
  });

  const tickLoop = createTickLoop({
    engine,
    now,
    isLeader,
    onWork: () => sync.kick(),
    onTick: () => announce(),
  });

  async function poke(): Promise<void> {
    if (!isLeader()) {
      channel.post({ type: 'poke' });
      return;
    }
    await Promise.all([tickLoop.runTick(), sync.syncNow()]);
  }

  /** Another host saved settings: take them from IndexedDB, and reconnect if they touch sync. */
  async function reloadSettings(): Promise<void> {
    const before = { ...settings };
    Object.assign(settings, await readHostSettings(meta));
    const reconnect =
      before.relayUrl !== settings.relayUrl ||
      before.token !== settings.token ||
      before.deviceName !== settings.deviceName;
    if (reconnect && isLeader()) sync.start();
    announce();
  }

  function onHostMessage(message: HostMessage): void {
    if (message.type === 'settings') {
      void reloadSettings().catch((error: unknown) =>
        console.error('[baton] could not re-read settings', error),
      );
      return;
    }
    if (!isLeader()) return;
    if (message.type === 'kick') sync.kick();
    else if (message.type === 'poke') void poke();
    else sync.networkChanged(message.online);
  }
  const channel = createHostChannel({ hostId, onMessage: onHostMessage });

  const api = createHostApi({
    db,
    deviceId,
    origin: options.origin,
    settings,
    target,
    actor,
    engine,
    sync,
    meta,
    tickLoop,
    status: () => hostStatus.status(),
    announce,
    nudge: () => (isLeader() ? sync.kick() : channel.post({ type: 'kick' })),
    poke,
    networkChanged: (online) =>
      isLeader() ? sync.networkChanged(online) : channel.post({ type: 'network', online }),
    settingsSaved: ({ connection }) => {
      channel.post({ type: 'settings' });
      if (connection && isLeader()) sync.start();
    },
  });

  /**
   * Starts planning and sync when this host leads; stops both at once when it no longer does.
   * A leader that has been away first pulls up to the relay's cursor (one sync round, at most
   * `firstPullMs`), so it never plans a slot the relay planned while no tab was open; offline,
   * the round fails at once and it plans as before.
   */
  let idling = false;

  function setLeader(leading: boolean): void {
    tickLoop.stop();
    if (leading && !idling) {
      sync.start();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const pulled = new Promise<void>((resolve) => (timer = setTimeout(resolve, firstPullMs)));
      void Promise.race([sync.syncNow(), pulled]).finally(() => {
        clearTimeout(timer);
        if (isLeader()) tickLoop.start();
      });
    } else {
      sync.close();
    }
    announce();
  }

  const lead = () =>
    createLeadership({
      db,
      hostId,
      locks: options.locks,
      onChange: setLeader,
      // Followers' pages treat a leader's status as current while it keeps arriving.
      onHeartbeat: announce,
    });
  leadership = lead();

  return {
    api,
    async idle() {
      if (idling) return;
      idling = true;
      await tickLoop.drain();
      if (!idling) return;
      // What the last run wrote goes to the relay before the baton does.
      await sync.syncNow().catch(() => undefined);
      if (!idling) return;
      sync.close();
      const leaving = leadership;
      leadership = undefined;
      await leaving?.close();
      announce();
    },
    resume() {
      if (!idling) return;
      idling = false;
      if (leadership) setLeader(isLeader());
      else leadership = lead();
    },
    async close() {
      tickLoop.stop();
      sync.close();
      channel.close();
      hostStatus.close();
      await leadership?.close();
    },
  };
}
