/**
 * The handoff end to end on real sockets (design §2): while a device that can plan is connected
 * the relay leaves its slots alone; once it disconnects the relay plans the slot once, and the
 * device finds the iteration when it pulls. A relay killed mid-tick plans the slot after a
 * restart, still once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { iterationIdOf } from '@baton/engine';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from './start-relay.ts';
import { connectLive } from './testing/live-client.ts';
import { createModelServer, type ModelServer } from './testing/model-server.ts';
import { startRelayProcess, type RelayProcess } from './testing/relay-process.ts';
import { testConfig } from './testing/test-config.ts';
import { createTestPglite } from './testing/test-database.ts';
import { createTestDevice } from './testing/test-device.ts';

const token = testConfig().firstToken!;
const hour = 3_600_000;

describe('the relay takes the baton', () => {
  let model: ModelServer | undefined;
  let relay: RunningRelay | undefined;
  const processes: RelayProcess[] = [];
  let dataDir: string | undefined;
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
    await Promise.all(processes.splice(0).map((process) => process.stop()));
    await model?.close();
    model = undefined;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  it('plans only after the last capable device disconnects, once, and the device pulls it', async () => {
    model = await createModelServer({
      script: () => ({ content: 'Planned while you were away.' }),
    });
    relay = await startRelay({
      config: testConfig({
        model: { baseUrl: model.url, apiKey: 'k', name: 'scripted-model', timeoutMs: 10_000 },
        tickIntervalMs: 100,
      }),
      db: await createTestPglite(),
    });
    const now = Date.now();
    const device = createTestDevice({ url: relay.url, token, nowMs: now - 40 * 60_000 });
    const tab = await connectLive({ url: relay.url, token });
    tab.send({ type: 'hello', deviceId: device.deviceId, canPlan: true });
    await tab.next((message) => message.type === 'status' && message.covered === true);

    const anchor = now - 5_000; // due, and well inside the grace period (2 minutes)
    const missionId = await device.createMission({
      schedule: { kind: 'interval', everyMs: hour, anchor },
    });
    await device.push();
    await new Promise((resolve) => setTimeout(resolve, 600)); // several ticks
    expect(model.callCount()).toBe(0);

    await tab.close();
    const iterationId = iterationIdOf(missionId, anchor);
    await expect
      .poll(
        async () =>
          (await device.pullAll()).some(
            (change) => change.table === 'iterations' && change.rowId === iterationId,
          ),
        {
          timeout: 10_000,
        },
      )
      .toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(model.callCount()).toBe(1);

    const pulled = await device.pullAll();
    device.clock.set(Date.now()); // the device was created with its clock in the past
    const report = await device.engine.applyRemote(
      pulled.filter((change) => !change.id.startsWith('0000000D')),
    );
    expect(report.refused, JSON.stringify(report.refused)).toEqual([]);
    const [iteration] = await device.engine.rows('iterations');
    expect(iteration).toMatchObject({
      id: iterationId,
      status: 'planned',
      runner: { kind: 'relay', instanceId: 'relay_test' },
    });
    expect(iteration?.plan?.summary).toBe('Planned while you were away.');
  });

  it('plans the slot after being killed mid-tick and restarted, with one iteration', async () => {
    model = await createModelServer({
      script: (_body, callIndex) =>
        callIndex === 0
          ? { content: 'never delivered', delayMs: 5_000 }
          : { content: 'Planned after restart.' },
    });
    dataDir = mkdtempSync(join(tmpdir(), 'baton-relay-kill-'));
    const env = {
      DATA_DIR: dataDir,
      OPENAI_BASE_URL: model.url,
      BATON_FIRST_TOKEN: token,
      TICK_INTERVAL_MS: '200',
      INSTANCE_ID: 'relay_k',
      PORT: '0',
    };
    const first = await startRelayProcess({ env });
    const now = Date.now();
    const device = createTestDevice({ url: first.url, token, nowMs: now - 40 * 60_000 });
    const anchor = now - 30 * 60_000;
    const missionId = await device.createMission({
      schedule: { kind: 'interval', everyMs: hour, anchor },
    });
    await device.push();
    await expect.poll(() => model!.callCount(), { timeout: 10_000 }).toBe(1);
    await first.kill();

    const second = await startRelayProcess({ env });
    processes.push(second);
    const restarted = createTestDevice({ url: second.url, token, nowMs: now });
    const iterationId = iterationIdOf(missionId, anchor);
    await expect
      .poll(
        async () =>
          (await restarted.pullAll())
            .filter((change) => change.table === 'iterations')
            .map((change) => change.rowId),
        {
          timeout: 15_000,
          message: second.output(),
        },
      )
      .toEqual([iterationId]);
    expect(model.callCount()).toBe(2);
  }, 60_000);
});
