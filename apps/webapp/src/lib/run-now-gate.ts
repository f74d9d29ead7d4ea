import type { Connection } from './worker/engine-api.ts';

/** Whether "Run now" may plan a mission here, and if not, why in words. */
export type RunNowGate =
  | { ok: true }
  | {
      ok: false;
      reason: string;
      /** The reason in a few words, for a mission in a list. */
      short: string;
      /** The fix is in Settings (a model endpoint for this device, or signing in). */
      settings: boolean;
    };

/**
 * "Run now" plans on this device, and so do "Dry run" and "Retry": one gate for the three (docs/decisions/0008). Pure, so the page (to disable the button
 * and say why) and the worker (to refuse) decide alike. `connection` is unknown in the worker
 * (a follower does not sync): only the mission's own rules are checked then. `deviceModel` says
 * whether this device has its own model endpoint; undefined when not known.
 */
export function runNowGate(options: {
  runOn: 'any' | 'device' | 'relay';
  connection?: Connection | undefined;
  deviceModel: boolean | undefined;
}): RunNowGate {
  const { runOn, connection, deviceModel } = options;
  if (runOn === 'relay')
    return {
      ok: false,
      reason:
        'This mission runs only on the relay, so this device does not plan it: the relay runs it ' +
        'at its scheduled times. To run it from here, set “Where it runs” to include devices.',
      short: 'runs on the relay only',
      settings: false,
    };
  if (deviceModel !== false) return { ok: true };
  if (runOn === 'device')
    return {
      ok: false,
      reason:
        'This mission never leaves your devices, so it never uses the relay’s model: set a model ' +
        'endpoint for this device in Settings to run it.',
      short: 'needs a model on this device',
      settings: true,
    };
  if (connection === 'offline')
    return {
      ok: false,
      reason:
        'Offline: without the relay, this device plans only with a model endpoint of its own. ' +
        'Set one in Settings, or run this once the relay is back.',
      short: 'offline: needs a model on this device',
      settings: true,
    };
  if (connection === 'signed_out' || connection === 'unauthorized')
    return {
      ok: false,
      reason:
        'Not signed in: planning needs the relay’s model (sign in) or a model endpoint for this ' +
        'device, both in Settings.',
      short: 'sign in, or set a model for this device',
      settings: true,
    };
  return { ok: true };
}
