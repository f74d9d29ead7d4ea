/**
 * Several relay instances on one PostgreSQL: pokes and presence cross instances, and two relay
 * processes share 200 due missions with exactly one model call each, both doing some of the
 * work. Needs TEST_DATABASE_URL.
 */
import type { Change } from '@baton/engine';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from './start-relay.ts';
import { connectLive, type LiveClient } from './testing/live-client.ts';
import { createModelServer, type ModelServer } from './testing/model-server.ts';
import { startRelayProcess, type RelayProcess } from './testing/relay-process.ts';
import { testConfig } from './testing/test-config.ts';
import { describeOn } from './testing/describe-on-database.ts';
import { createTestPostgres, testDatabaseUrl } from './testing/test-database.ts';
import { createTestDevice } from './testing/test-device.ts';
import { createChangeFactory } from './testing/test-relay.ts';

const token = testConfig().firstToken!;

describeOn('postgres', 'several relay instances on one PostgreSQL', () => {
  const relays: RunningRelay[] = [];
  const clients: LiveClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(relays.splice(0).map((relay) => relay.close()));
  });

  async function twoRelays(): Promise<[RunningRelay, RunningRelay]> {
    await (await createTestPostgres()).close(); // empties the tables
    const config = { databaseUrl: testDatabaseUrl };
    const first = await startRelay({
      config: testConfig({ ...config, instanceId: 'relay_a' }),
      tick: false,
    });
    relays.push(first);
    const second = await startRelay({
      config: testConfig({ ...config, instanceId: 'relay_b' }),
      tick: false,
    });
    relays.push(second);
    return [first, second];
  }

  it('covers a user on every instance while a device is connected to one', async () => {
    const [first, second] = await twoRelays();
    const userId = (await first.db.query<{ id: string }>('select id from users'))[0]!.id;
    const tab = await connectLive({ url: first.url, token });
    clients.push(tab);
    tab.send({ type: 'hello', deviceId: 'dev_a', canPlan: true });
    await expect.poll(() => second.live.isCovered(userId)).toBe(true);
    expect(second.live.coveredUserIds()).toEqual(new Set([userId]));

    const phone = await connectLive({ url: second.url, token });
    clients.push(phone);
    phone.send({ type: 'hello', deviceId: 'dev_b', canPlan: false });
    await phone.next((message) => message.type === 'status' && message.covered === true);
    // A change on one instance reaches the other as that one device.
    tab.send({ type: 'hello', deviceId: 'dev_a', canPlan: true, name: 'Renamed' });
    expect(await phone.next((message) => message.type === 'device')).toEqual({
      type: 'device',
      device: { deviceId: 'dev_a', canPlan: true, name: 'Renamed' },
      covered: true,
    });
    await tab.close();
    await phone.next((message) => message.type === 'device-left' && message.covered === false);
    expect(phone.presence()).toEqual({
      devices: [{ deviceId: 'dev_b', canPlan: false }],
      covered: false,
    });
    await expect.poll(() => second.live.isCovered(userId)).toBe(false);
  });

  it('pokes a device on one instance when another instance accepts a push, but not the device that pushed', async () => {
    const [first, second] = await twoRelays();
    const tab = await connectLive({ url: first.url, token });
    clients.push(tab);
    tab.send({ type: 'hello', deviceId: 'dev_a', canPlan: true });
    const phone = await connectLive({ url: first.url, token });
    clients.push(phone);
    phone.send({ type: 'hello', deviceId: 'dev_b', canPlan: false });
    await tab.next(
      (message) =>
        message.type === 'device' &&
        (message.device as { deviceId?: string } | undefined)?.deviceId === 'dev_b',
    );
    // dev_a pushes through the other instance (as after a reconnect to another process).
    const change = createChangeFactory({ wallMs: Date.now() });
    const response = await fetch(`${second.url}/v1/sync/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: 'dev_a', changes: [change('t1')] }),
    });
    const { cursor } = (await response.json()) as { cursor: string };
    expect(await phone.next((message) => message.type === 'poke')).toEqual({
      type: 'poke',
      cursor,
    });
    // The pushing device has the changes: no poke sends them back to it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(tab.messages.some((message) => message.type === 'poke')).toBe(false);
  });
});

describeOn('postgres', 'two relay processes on one PostgreSQL', () => {
  let model: ModelServer;
  const processes: RelayProcess[] = [];
  beforeAll(async () => {
    // Slow enough that both processes are busy at once: each takes a batch of 16 (twice its
    // model concurrency) and comes back for more, so neither can take everything.
    model = await createModelServer({
      script: () => ({ content: 'Nothing to do today.', delayMs: 150 }),
    });
  });
  afterAll(async () => {
    await Promise.all(processes.splice(0).map((relay) => relay.stop()));
    await model.close();
  });

  it('plans 200 due missions with exactly 200 model calls between them, each slot once', async () => {
    await (await createTestPostgres()).close();
    const env = {
      DATABASE_URL: testDatabaseUrl!,
      OPENAI_BASE_URL: model.url,
      BATON_MODEL: 'scripted-model',
      BATON_FIRST_TOKEN: token,
      TICK_INTERVAL_MS: '300',
      MODEL_CONCURRENCY: '8',
      PORT: '0',
    };
    const [first, second] = await Promise.all([
      startRelayProcess({ env: { ...env, INSTANCE_ID: 'relay_p1' } }),
      startRelayProcess({ env: { ...env, INSTANCE_ID: 'relay_p2' } }),
    ]);
    processes.push(first, second);

    // Slots every hour from 30 minutes ago: exactly one slot is due, the next is far away.
    const now = Date.now();
    const device = createTestDevice({ url: first.url, token, nowMs: now - 40 * 60_000 });
    const titles: string[] = [];
    for (let index = 0; index < 200; index += 1) {
      titles.push(`Mission-${String(index).padStart(3, '0')}`);
      await device.createMission({
        title: titles.at(-1)!,
        schedule: { kind: 'interval', everyMs: 3_600_000, anchor: now - 30 * 60_000 },
      });
    }
    await device.push();

    const iterationsOf = (changes: Change[]) =>
      changes.filter((change) => change.table === 'iterations');
    await expect
      .poll(async () => iterationsOf(await device.pullAll()).length, {
        timeout: 60_000,
        interval: 500,
        message: `relay output:\n${first.output()}\n${second.output()}`,
      })
      .toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a further tick or two

    // At the model server: 200 calls, one per mission.
    expect(model.callCount()).toBe(200);
    const calledFor = model.calls.map((call) =>
      titles.find((title) => JSON.stringify(call.messages).includes(title)),
    );
    expect(new Set(calledFor).size).toBe(200);
    // In the log: 200 iterations, each plan written once, by one of the two processes.
    const iterations = iterationsOf(await device.pullAll());
    expect(new Set(iterations.map((change) => change.rowId)).size).toBe(200);
    expect(iterations).toHaveLength(200);
    expect(iterations.every((change) => change.fields.status === 'planned')).toBe(true);
    const plannedBy = new Map<string, number>();
    for (const change of iterations) {
      const instanceId = (change.fields.runner as { instanceId: string }).instanceId;
      plannedBy.set(instanceId, (plannedBy.get(instanceId) ?? 0) + 1);
    }
    expect([...plannedBy.keys()].sort()).toEqual(['relay_p1', 'relay_p2']);
    expect((plannedBy.get('relay_p1') ?? 0) + (plannedBy.get('relay_p2') ?? 0)).toBe(200);
  }, 120_000);
});
