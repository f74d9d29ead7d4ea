import { describe, expect, it } from 'vitest';
import { runNowGate } from './run-now-gate.ts';

describe('runNowGate', () => {
  it('never plans a relay-only mission on a device, whatever the device has', () => {
    for (const deviceModel of [true, false, undefined])
      expect(runNowGate({ runOn: 'relay', connection: 'online', deviceModel })).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/runs only on the relay/),
        settings: false,
      });
  });

  it('runs a device-only mission only with a model endpoint on this device, online or not', () => {
    expect(runNowGate({ runOn: 'device', connection: 'online', deviceModel: false })).toMatchObject(
      { ok: false, reason: expect.stringMatching(/never uses the relay’s model/), settings: true },
    );
    expect(runNowGate({ runOn: 'device', connection: 'offline', deviceModel: true })).toEqual({
      ok: true,
    });
  });

  it('offline or signed out without a model of its own, says where to set one', () => {
    expect(runNowGate({ runOn: 'any', connection: 'offline', deviceModel: false })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^Offline: .*model endpoint of its own/),
      settings: true,
    });
    expect(
      runNowGate({ runOn: 'any', connection: 'signed_out', deviceModel: false }),
    ).toMatchObject({ ok: false, settings: true });
    expect(runNowGate({ runOn: 'any', connection: 'offline', deviceModel: true })).toEqual({
      ok: true,
    });
    expect(runNowGate({ runOn: 'any', connection: 'online', deviceModel: false })).toEqual({
      ok: true,
    });
  });

  it('lets the worker check the mission alone when it cannot tell the connection', () => {
    expect(runNowGate({ runOn: 'any', deviceModel: false })).toEqual({ ok: true });
    expect(runNowGate({ runOn: 'device', deviceModel: false }).ok).toBe(false);
  });
});
