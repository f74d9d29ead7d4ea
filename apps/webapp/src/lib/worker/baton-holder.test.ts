import { describe, expect, it } from 'vitest';
import { batonHolder, describeBaton } from './baton-holder.ts';

const me = 'dev_me';
const phone = { deviceId: 'dev_phone', canPlan: true, name: 'Pixel phone' };
const laptop = { deviceId: 'dev_laptop', canPlan: true };
const self = { deviceId: me, canPlan: true, name: 'Chromium on Linux' };

describe('who holds the baton', () => {
  it('is this browser, on its own, while signed out or without a live connection', () => {
    const base = { deviceId: me, covered: false, devices: [] };
    expect(batonHolder({ ...base, connection: 'signed_out', liveConnected: false })).toEqual({
      kind: 'this-browser',
      reason: 'signed-out',
      others: [],
    });
    expect(batonHolder({ ...base, connection: 'offline', liveConnected: false })).toMatchObject({
      kind: 'this-browser',
      reason: 'offline',
    });
  });

  it('is this browser, shared with the other capable devices, while the relay counts it', () => {
    const holder = batonHolder({
      deviceId: me,
      connection: 'online',
      liveConnected: true,
      covered: true,
      devices: [self, phone, { deviceId: 'dev_tv', canPlan: false }],
    });
    expect(holder).toEqual({ kind: 'this-browser', reason: 'covered', others: [phone] });
    expect(describeBaton(holder)).toMatchObject({
      label: 'this browser',
      detail: 'shared with Pixel phone: the first to claim a slot plans it',
    });
  });

  it('is another device, by name, when only that one can plan', () => {
    const holder = batonHolder({
      deviceId: me,
      connection: 'online',
      liveConnected: true,
      covered: true,
      devices: [{ ...self, canPlan: false }, phone, laptop],
    });
    expect(holder).toEqual({ kind: 'other-device', devices: [phone, laptop] });
    expect(describeBaton(holder, { dev_laptop: 'Work laptop' }).label).toBe(
      'Pixel phone and Work laptop',
    );
  });

  it('is the relay when no capable device is connected', () => {
    const holder = batonHolder({
      deviceId: me,
      connection: 'online',
      liveConnected: true,
      covered: false,
      devices: [{ ...self, canPlan: false }],
    });
    expect(holder).toEqual({ kind: 'relay' });
    expect(describeBaton(holder).label).toBe('the relay');
  });
});
