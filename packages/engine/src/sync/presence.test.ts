import { describe, expect, it } from 'vitest';
import { applyPresence, emptyPresence } from './presence.ts';

describe('applyPresence', () => {
  const laptop = { deviceId: 'dev_laptop', canPlan: true, name: 'Laptop' };
  const phone = { deviceId: 'dev_phone', canPlan: false };

  it('takes the whole list from status, then one device at a time from changes', () => {
    let view = applyPresence(emptyPresence, { type: 'status', devices: [phone], covered: false });
    view = applyPresence(view, { type: 'device', device: laptop, covered: true });
    expect(view).toEqual({ devices: [laptop, phone], covered: true });

    view = applyPresence(view, {
      type: 'device',
      device: { ...laptop, canPlan: false },
      covered: false,
    });
    expect(view).toEqual({ devices: [{ ...laptop, canPlan: false }, phone], covered: false });

    view = applyPresence(view, { type: 'device-left', deviceId: 'dev_phone', covered: false });
    expect(view).toEqual({ devices: [{ ...laptop, canPlan: false }], covered: false });
  });

  it('leaves the view alone for a poke', () => {
    const view = { devices: [laptop], covered: true };
    expect(applyPresence(view, { type: 'poke', cursor: 'u7' })).toBe(view);
  });
});
