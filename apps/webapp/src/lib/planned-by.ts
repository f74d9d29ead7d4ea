import { hostNodeId, parseHlc, type Runner } from '@baton/engine';
import { runnerLabel, type DeviceNames, type Label } from './format.ts';

/**
 * Who planned a run, down to the engine host: "this tab" when the host that wrote its plan
 * (the node id of its `plannedAt` stamp) is the one serving this tab, "this device (another
 * tab or an earlier session)" for another host of this device, else the device's name or "the
 * relay". `host` says whether this tab's engine is the browser's shared worker (one for every
 * tab) or a worker of its own.
 */
export function plannerLabel(options: {
  runner: Runner;
  plannedAt: string;
  deviceId: string | undefined;
  /** This tab's engine host, when it has answered. */
  self: { hostId: string; host: 'shared' | 'dedicated' } | undefined;
  names?: DeviceNames;
}): Label & { who: 'this-tab' | 'this-device' | 'other-device' | 'relay' } {
  const { runner, deviceId, self } = options;
  const base = runnerLabel(runner, deviceId, options.names);
  if (runner.kind === 'relay') return { ...base, who: 'relay' };
  if (runner.deviceId !== deviceId) return { ...base, who: 'other-device' };
  let node: string | undefined;
  try {
    node = parseHlc(options.plannedAt).nodeId;
  } catch {
    node = undefined;
  }
  const here = self && hostNodeId({ deviceId: runner.deviceId, hostId: self.hostId });
  if (node !== undefined && node === here)
    return {
      text: 'this tab',
      detail:
        self?.host === 'shared'
          ? `this browser's shared engine, which serves this tab (host ${node})`
          : `this tab's own engine (host ${node})`,
      who: 'this-tab',
    };
  return {
    text: 'this device (another tab or an earlier session)',
    detail: `device id ${runner.deviceId}${node ? `, host ${node}` : ''}`,
    who: 'this-device',
  };
}
