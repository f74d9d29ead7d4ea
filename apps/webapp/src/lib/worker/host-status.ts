import type { Hlc } from '@baton/engine';
import { statusChannelName, type EngineStatus } from './engine-api.ts';
import type { HostSettings } from './host-settings.ts';
import type { MetaStore } from './meta.ts';
import type { SyncClient } from './sync-client.ts';

export interface HostStatus {
  /** The status bar's view of this host now. */
  status(): EngineStatus;
  /**
   * Soon (coalesced within 50 ms) broadcasts the status to every tab and saves the HLC's last
   * stamp, so stamps never go backwards after a restart.
   */
  announce(): void;
  close(): void;
}

export function createHostStatus(options: {
  deviceId: string;
  settings: HostSettings;
  relayUrl: () => string;
  host: EngineStatus['host'];
  sync: () => SyncClient;
  isLeader: () => boolean;
  planning: () => EngineStatus['planning'];
  lastTickAt: () => number | null;
  hlc: Hlc;
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

  function batonHolder(): string {
    const state = options.sync().state;
    if (!options.isLeader()) return 'another tab of this browser';
    if (state.connection === 'signed_out') return 'this device (not signed in)';
    if (state.connection !== 'online' && !state.liveConnected)
      return 'this device (offline, plans without a claim)';
    const others = state.devices.filter((device) => device.deviceId !== deviceId);
    if (!state.liveConnected) return 'this device';
    if (others.length === 0) return 'this device';
    const named = others.every((device) => device.name);
    return named
      ? `your devices (this one and ${others.map((device) => device.name).join(', ')})`
      : `your devices (this one and ${others.length} more)`;
  }

  function status(): EngineStatus {
    const state = options.sync().state;
    return {
      deviceId,
      deviceName: settings.deviceName,
      connection: state.connection,
      relayUrl: options.relayUrl(),
      outboxSize: state.outboxSize,
      lastError: state.lastError,
      devices: state.devices,
      deviceNames: learnNames(),
      covered: state.covered,
      baton: batonHolder(),
      planning: options.planning(),
      lastTickAt: options.lastTickAt(),
      host: options.host,
      leader: options.isLeader(),
    };
  }

  return {
    status,
    announce() {
      if (announceTimer !== undefined) return;
      announceTimer = setTimeout(() => {
        announceTimer = undefined;
        channel?.postMessage(status());
        const stamp = hlc.last();
        if (stamp !== savedStamp) {
          savedStamp = stamp;
          void meta.set('hlc', stamp);
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
