import type { Hlc } from '@baton/engine';
import type { BatonDatabase } from '../db/database.ts';
import { batonHolder } from './baton-holder.ts';
import { statusChannelName, type EngineStatus } from './engine-api.ts';
import type { HostSettings } from './host-settings.ts';
import type { MetaStore } from './meta.ts';
import type { SyncClient } from './sync-client.ts';

export interface HostStatus {
  /** The status bar's view of this host now. */
  status(): EngineStatus;
  /**
   * Soon (coalesced within 50 ms) broadcasts the status to every tab, if this host leads, and
   * saves the HLC's last stamp, so stamps never go backwards after a restart.
   */
  announce(): void;
  close(): void;
}

export function createHostStatus(options: {
  deviceId: string;
  settings: HostSettings;
  relayUrl: () => string;
  host: EngineStatus['host'];
  hostId: string;
  /** The app build of the pages that started this host (told in `hello`). */
  version: () => string | null;
  sync: () => SyncClient;
  isLeader: () => boolean;
  planning: () => EngineStatus['planning'];
  lastTickAt: () => number | null;
  hlc: Hlc;
  db: BatonDatabase;
  meta: MetaStore;
  lastStamp: string | undefined;
  /** Device names remembered from earlier presence (meta `deviceNames`). */
  deviceNames: Record<string, string>;
}): HostStatus {
  const { deviceId, settings, hlc, meta } = options;
  const deviceNames: Record<string, string> = { ...options.deviceNames };
  let namesChanged = false;

  /** Remembers the names in the latest presence, so labels keep them after a device leaves. */
  function learnNames(): Record<string, string> {
    for (const device of options.sync().state.devices) {
      if (device.name && deviceNames[device.deviceId] !== device.name) {
        deviceNames[device.deviceId] = device.name;
        namesChanged = true;
      }
    }
    return { ...deviceNames, [deviceId]: settings.deviceName };
  }
  const channel =
    typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel(statusChannelName);
  let announceTimer: ReturnType<typeof setTimeout> | undefined;
  let savedStamp = options.lastStamp;

  /** Keeps the newest stamp any host of this browser issued (stamps sort in time order). */
  async function saveStamp(stamp: string): Promise<void> {
    await options.db.transaction('rw', options.db.meta, async () => {
      const saved = await meta.get('hlc');
      if (!saved || saved < stamp) await meta.set('hlc', stamp);
    });
  }

  function status(): EngineStatus {
    const state = options.sync().state;
    const leader = options.isLeader();
    // A follower does not sync: until its page hears the leader, it can only say it waits.
    const connection = leader ? state.connection : settings.token ? 'connecting' : 'signed_out';
    return {
      deviceId,
      deviceName: settings.deviceName,
      connection,
      relayUrl: options.relayUrl(),
      outboxSize: state.outboxSize,
      lastError: state.lastError,
      devices: state.devices,
      deviceNames: learnNames(),
      covered: state.covered,
      baton: batonHolder({
        deviceId,
        connection,
        liveConnected: state.liveConnected,
        covered: state.covered,
        devices: state.devices,
      }),
      deviceModel: Boolean(settings.modelEndpoint),
      planning: options.planning(),
      lastTickAt: options.lastTickAt(),
      host: options.host,
      hostId: options.hostId,
      leader,
      version: options.version(),
      at: Date.now(),
    };
  }

  return {
    status,
    announce() {
      if (announceTimer !== undefined) return;
      announceTimer = setTimeout(() => {
        announceTimer = undefined;
        // Only the leader speaks for the browser: a follower's sync state is idle, not real.
        if (options.isLeader()) channel?.postMessage(status());
        const stamp = hlc.last();
        if (stamp !== savedStamp) {
          savedStamp = stamp;
          void saveStamp(stamp);
        }
        if (namesChanged) {
          namesChanged = false;
          void meta.set('deviceNames', JSON.stringify(deviceNames));
        }
      }, 50);
    },
    close() {
      channel?.close();
    },
  };
}
