import { hostNodeId } from '@baton/engine';
import { describe, expect, it } from 'vitest';
import { plannerLabel } from './planned-by.ts';

const stampBy = (node: string) => `001795545100000-000003-${node}`;
const self = { hostId: 'h-0123456789abcdef', host: 'shared' as const };
const mine = hostNodeId({ deviceId: 'dev_a', hostId: self.hostId });

describe('plannerLabel', () => {
  it('tells this tab from another host of this device, another device and the relay', () => {
    const device = { kind: 'device', deviceId: 'dev_a' } as const;
    expect(
      plannerLabel({ runner: device, plannedAt: stampBy(mine), deviceId: 'dev_a', self }),
    ).toMatchObject({ text: 'this tab', who: 'this-tab' });
    const earlier = hostNodeId({ deviceId: 'dev_a', hostId: 'h-another-worker' });
    expect(
      plannerLabel({ runner: device, plannedAt: stampBy(earlier), deviceId: 'dev_a', self }),
    ).toMatchObject({
      text: 'this device (another tab or an earlier session)',
      who: 'this-device',
    });
    expect(
      plannerLabel({
        runner: { kind: 'device', deviceId: 'dev_b' },
        plannedAt: stampBy('dev_b.x'),
        deviceId: 'dev_a',
        self,
        names: { dev_b: 'Pixel phone' },
      }),
    ).toMatchObject({ text: 'Pixel phone', who: 'other-device' });
    expect(
      plannerLabel({
        runner: { kind: 'relay', instanceId: 'relay_1' },
        plannedAt: stampBy('relay_1'),
        deviceId: 'dev_a',
        self,
      }),
    ).toMatchObject({ text: 'the relay', who: 'relay' });
  });

  it('says "this device" while this tab’s engine has not answered yet', () => {
    expect(
      plannerLabel({
        runner: { kind: 'device', deviceId: 'dev_a' },
        plannedAt: stampBy(mine),
        deviceId: 'dev_a',
        self: undefined,
      }),
    ).toMatchObject({ who: 'this-device' });
  });
});
