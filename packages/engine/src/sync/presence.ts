/**
 * A client's picture of the user's connected devices, kept from the relay's live messages: the
 * `status` list replaces it, `device` and `device-left` change one entry. Pure; every client
 * (the webapp's sync client, the relay's tests) folds messages through the same function.
 */
import type { DevicePresence, LiveServerMessage } from './protocol.ts';

export interface PresenceView {
  /** Sorted by `deviceId`. */
  devices: DevicePresence[];
  /** A connected device can plan. */
  covered: boolean;
}

export const emptyPresence: PresenceView = { devices: [], covered: false };

const byDeviceId = (a: DevicePresence, b: DevicePresence) =>
  a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;

/** The view after `message`; the same view (by reference) for a message that is not presence. */
export function applyPresence(view: PresenceView, message: LiveServerMessage): PresenceView {
  switch (message.type) {
    case 'status':
      return { devices: [...message.devices].sort(byDeviceId), covered: message.covered };
    case 'device': {
      const others = view.devices.filter((device) => device.deviceId !== message.device.deviceId);
      return { devices: [...others, message.device].sort(byDeviceId), covered: message.covered };
    }
    case 'device-left':
      return {
        devices: view.devices.filter((device) => device.deviceId !== message.deviceId),
        covered: message.covered,
      };
    default:
      return view;
  }
}
