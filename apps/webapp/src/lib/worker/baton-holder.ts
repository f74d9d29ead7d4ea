import type { BatonHolder, Connection, PresenceDevice } from './engine-api.ts';

/**
 * Who plans due slots now, from the leading host's view of the live connection (design §2).
 * Pure, so every case is a unit test.
 *
 * Without a live connection (signed out, offline, relay down) this browser plans on its own,
 * without claims: the relay may plan the same slot, and the merge rule keeps one plan. With one,
 * the relay's `covered` decides: a capable device connected means devices plan (this one, if
 * the relay lists it as able, first claim wins among them); otherwise the relay plans.
 */
export function batonHolder(options: {
  deviceId: string;
  connection: Connection;
  liveConnected: boolean;
  covered: boolean;
  devices: PresenceDevice[];
}): BatonHolder {
  const { deviceId, devices } = options;
  if (options.connection === 'signed_out' || options.connection === 'unauthorized')
    return { kind: 'this-browser', reason: 'signed-out', others: [] };
  if (!options.liveConnected) return { kind: 'this-browser', reason: 'offline', others: [] };
  const capable = devices.filter((device) => device.canPlan);
  const others = capable.filter((device) => device.deviceId !== deviceId);
  if (!options.covered || capable.length === 0) return { kind: 'relay' };
  if (capable.some((device) => device.deviceId === deviceId))
    return { kind: 'this-browser', reason: 'covered', others };
  return { kind: 'other-device', devices: others };
}

/** A device's name as the person knows it: what it said in presence, else what we remember. */
function deviceLabel(device: PresenceDevice, names: Record<string, string>): string {
  return device.name || names[device.deviceId] || 'another device';
}

function list(labels: string[]): string {
  return labels.length <= 1
    ? (labels[0] ?? '')
    : `${labels.slice(0, -1).join(', ')} and ${labels[labels.length - 1]}`;
}

/**
 * The holder in words for the status bar: `label` is short ("this browser", "Pixel phone",
 * "the relay"), `detail` says why, and `deviceIds` are there for a tooltip.
 */
export function describeBaton(
  holder: BatonHolder,
  names: Record<string, string> = {},
): { label: string; detail: string; deviceIds: string[] } {
  switch (holder.kind) {
    case 'this-browser': {
      const others = holder.others.map((device) => deviceLabel(device, names));
      const detail =
        holder.reason === 'signed-out'
          ? 'not signed in: it plans on its own'
          : holder.reason === 'offline'
            ? 'plans on its own until it reconnects'
            : others.length > 0
              ? `shared with ${list(others)}: the first to claim a slot plans it`
              : 'connected to the relay';
      return {
        label: 'this browser',
        detail,
        deviceIds: holder.others.map((device) => device.deviceId),
      };
    }
    case 'other-device':
      return {
        label: list(holder.devices.map((device) => deviceLabel(device, names))) || 'another device',
        detail: 'another of your devices is connected and plans',
        deviceIds: holder.devices.map((device) => device.deviceId),
      };
    case 'relay':
      return {
        label: 'the relay',
        detail: 'no device that can plan is connected, so the relay plans',
        deviceIds: [],
      };
  }
}
