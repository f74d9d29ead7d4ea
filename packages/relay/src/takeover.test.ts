/**
 * The handoff end to end on real sockets (design §2): while a device that can plan is connected
 * the relay leaves its slots alone; once it disconnects the relay plans the slot once, and the
 * device finds the iteration and its proposals when it pulls. A relay killed mid-tick and
 * replaced by another instance: every due slot is planned exactly once, after the dead
 * instance's claims expire.
 */
import { rmSync } from 'node:fs';
import { iterationIdOf, type Change } from '@baton/engine';
import { afterEach, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from './start-relay.ts';
import { connectLive } from './testing/live-client.ts';
import {
  createModelServer,
  type ChatRequestBody,
  type ModelServer,
} from './testing/model-server.ts';
import { relayProcessEnv, startRelayProcess, type RelayProcess } from './testing/relay-process.ts';
import { testConfig } from './testing/test-config.ts';
import { describeOnEachDatabase } from './testing/describe-on-database.ts';
import { createTestDatabase } from './testing/test-database.ts';
import { createTestDevice, type TestDevice } from './testing/test-device.ts';

const token = testConfig().firstToken!;
const hour = 3_600_000;

/** A planning run starts with a call that has no answer of the model in it yet. */
const isFirstCallOfRun = (body: ChatRequestBody) =>
  !body.messages.some((message) => message.role === 'assistant');

/** How often each iteration's plan was written: a slot planned twice shows up as 2. */
function planWritesOf(changes: Change[]): Map<string, number> {
  const writes = new Map<string, number>();
  for (const change of changes) {
    if (change.table === 'iterations' && 'plan' in change.fields)
      writes.set(change.rowId, (writes.get(change.rowId) ?? 0) + 1);
  }
  return writes;
}

describeOnEachDatabase('the relay takes the baton', (kind) => {
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

  it('plans only after the last capable device disconnects, once, and the device pulls the iteration and its proposals', async () => {
    // The default script reads tasks, proposes `create_task`, then answers: one run, 3 calls.
    model = await createModelServer();
    relay = await startRelay({
      config: testConfig({
        model: { baseUrl: model.url, apiKey: 'k', name: 'scripted-model', timeoutMs: 10_000 },
        tickIntervalMs: 100,
      }),
      db: await createTestDatabase(kind),
    });
    const now = Date.now();
    const device = createTestDevice({ url: relay.url, token, nowMs: now - 40 * 60_000 });
    const tab = await connectLive({ url: relay.url, token });
    tab.send({ type: 'hello', deviceId: device.deviceId, canPlan: true });
    await tab.next((message) => message.type === 'status' && message.covered === true);

    const anchor = now - 5_000; // due, and well inside the grace period (2 minutes)
    const missionId = await device.createMission({
      schedule: { kind: 'interval', everyMs: hour, anchor },
      tools: { list_tasks: 'auto', create_task: 'propose' },
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
        { timeout: 10_000 },
      )
      .toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 400)); // further ticks plan nothing more
    expect(model.calls.filter(isFirstCallOfRun)).toHaveLength(1);
    expect(model.callCount()).toBe(3);

    const pulled = await device.pullAll();
    expect([...planWritesOf(pulled).values()]).toEqual([1]);
    device.clock.set(Date.now()); // the device was created with its clock in the past
    const report = await device.engine.applyRemote(
      pulled.filter((change) => change.deviceId !== device.deviceId),
    );
    expect(report.refused, JSON.stringify(report.refused)).toEqual([]);
    const [iteration] = await device.engine.rows('iterations');
    expect(iteration).toMatchObject({
      id: iterationId,
      status: 'planned',
      runner: { kind: 'relay', instanceId: 'relay_test' },
    });
    expect(iteration?.plan?.summary).toBe('Done.');
    const proposals = await device.engine.rows('proposals');
    expect(proposals).toHaveLength(1);
    expect(proposals[0]).toMatchObject({
      id: `${iterationId}#0`,
      iterationId,
      missionId,
      tool: 'create_task',
      params: { title: 'Review open tasks' },
      status: 'pending',
    });
  });

  /**
   * A relay whose regular tick is a minute away (only a release's own tick can plan in time),
   * with a release grace of 300 ms; a device whose tabs' hosts (`holders`) are connected before
   * its mission reaches the relay, so the relay leaves the mission's slot, due now, to them.
   */
  async function slotOfConnectedHosts(holders: string[]) {
    model = await createModelServer();
    relay = await startRelay({
      config: testConfig({
        model: { baseUrl: model.url, apiKey: 'k', name: 'scripted-model', timeoutMs: 10_000 },
        tickIntervalMs: 60_000,
        claimReleaseGraceMs: 300,
      }),
      db: await createTestDatabase(kind),
    });
    const url = relay.url;
    const now = Date.now();
    const device = createTestDevice({ url, token, nowMs: now - 40 * 60_000 });
    /** A tab whose host says hello as `holder`. */
    const connect = async (holder: string) => {
      const tab = await connectLive({ url, token });
      tab.send({ type: 'hello', deviceId: device.deviceId, canPlan: true, holder });
      await tab.next((message) => message.type === 'status' && message.covered === true);
      return tab;
    };
    const tabs = [];
    for (const holder of holders) tabs.push(await connect(holder));
    const anchor = now - 5_000;
    const missionId = await device.createMission({
      schedule: { kind: 'interval', everyMs: hour, anchor },
      tools: { list_tasks: 'auto', create_task: 'propose' },
    });
    await device.push();
    const iterationId = iterationIdOf(missionId, anchor);
    const claim = (holder: string) =>
      fetch(`${url}/v1/claims`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ iterationId, holder, ttlMs: 300_000 }),
      });
    return { model, device, tabs, connect, iterationId, claim };
  }

  it('releases the claims of a host whose live connection ended past the grace, and plans its slot at once; a host back within the grace keeps them', async () => {
    const { model, device, tabs, connect, iterationId, claim } = await slotOfConnectedHosts([
      'dev_a.h1',
    ]);

    // A tab's host claims the slot (it is planning) and its connection blips: back within the
    // grace, it keeps the claim.
    expect((await claim('dev_a.h1')).status).toBe(200);
    await tabs[0]!.close();
    const back = await connect('dev_a.h1');
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await claim('relay_probe')).status).toBe(409);
    expect(model.callCount()).toBe(0);

    // The browser is closed mid-plan: the relay releases the claim after the grace and plans.
    await back.close();
    await expect
      .poll(
        async () =>
          (await device.pullAll()).some(
            (change) =>
              change.table === 'iterations' &&
              change.rowId === iterationId &&
              change.fields.status === 'planned',
          ),
        { timeout: 5_000 },
      )
      .toBe(true);
    expect(model.calls.filter(isFirstCallOfRun)).toHaveLength(1);
  });

  it('keeps a claim its host asked for after its live connection ended: the host is still planning', async () => {
    // A second tab of the device stays connected, so the relay's own runner leaves the slot
    // alone throughout: only the release could let another holder have it.
    const { model, tabs, claim } = await slotOfConnectedHosts(['dev_a.h1', 'dev_a.h2']);

    // The first tab's live connection drops; its host, still running, claims the slot over
    // HTTP within the grace. The grace ends without a hello, but the claim came after the end:
    // it stays.
    await tabs[0]!.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await claim('dev_a.h1')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await claim('relay_probe')).status).toBe(409);
    expect(model.callCount()).toBe(0);
    await tabs[1]!.close();
  });

  it('plans every due slot exactly once when a relay is killed mid-tick and another instance replaces it', async () => {
    // First instance: the first two runs answer at once, later ones hang until it is killed.
    let phase: 'first' | 'second' = 'first';
    model = await createModelServer({
      script: (_body, callIndex) =>
        phase === 'first' && callIndex >= 2
          ? { content: 'never delivered', delayMs: 60_000 }
          : { content: `Planned in the ${phase} instance.` },
    });
    const env = await relayProcessEnv(kind, {
      OPENAI_BASE_URL: model.url,
      BATON_FIRST_TOKEN: token,
      TICK_INTERVAL_MS: '200',
      MODEL_CONCURRENCY: '2',
      MODEL_TIMEOUT_MS: '5000',
      CLAIM_TTL_MS: '6000',
      PORT: '0',
    });
    dataDir = env.DATA_DIR;
    const first = await startRelayProcess({ env: { ...env, INSTANCE_ID: 'relay_k1' } });
    processes.push(first);
    const now = Date.now();
    const device = createTestDevice({ url: first.url, token, nowMs: now - 40 * 60_000 });
    const anchor = now - 30 * 60_000;
    const titles = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo'];
    const missionIds = new Map<string, string>();
    for (const title of titles) {
      const missionId = await device.createMission({
        title,
        schedule: { kind: 'interval', everyMs: hour, anchor },
      });
      missionIds.set(missionId, title);
    }
    await device.push();

    // Mid-tick: two slots planned and written, two model calls in flight, one slot waiting.
    const iterationsOf = async (of: TestDevice) =>
      (await of.pullAll()).filter((change) => change.table === 'iterations');
    await expect.poll(async () => (await iterationsOf(device)).length, { timeout: 15_000 }).toBe(2);
    await expect.poll(() => model!.callCount(), { timeout: 15_000 }).toBe(4);
    const plannedBefore = new Set((await iterationsOf(device)).map((change) => change.rowId));
    expect(plannedBefore.size).toBe(2);
    await first.kill();
    processes.splice(processes.indexOf(first), 1);
    const callsAtKill = model.callCount();
    phase = 'second';

    const second = await startRelayProcess({ env: { ...env, INSTANCE_ID: 'relay_k2' } });
    processes.push(second);
    const after = createTestDevice({ url: second.url, token, nowMs: now });
    await expect
      .poll(async () => (await iterationsOf(after)).length, {
        timeout: 30_000,
        message: second.output(),
      })
      .toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 600)); // further ticks plan nothing more

    const changes = await after.pullAll();
    const writes = planWritesOf(changes);
    expect(
      [...missionIds.keys()].map((missionId) => writes.get(iterationIdOf(missionId, anchor))),
    ).toEqual([1, 1, 1, 1, 1]);
    // The replacement called the model once for each slot the dead instance had not written.
    const calledFor = model.calls
      .slice(callsAtKill)
      .map((call) => titles.find((title) => JSON.stringify(call.messages).includes(title)));
    const unplanned = [...missionIds]
      .filter(([missionId]) => !plannedBefore.has(iterationIdOf(missionId, anchor)))
      .map(([, title]) => title);
    expect(calledFor.sort()).toEqual(unplanned.sort());
    const runners = changes
      .filter((change) => change.table === 'iterations' && 'plan' in change.fields)
      .map((change) => (change.fields.runner as { instanceId: string }).instanceId);
    expect(runners.sort()).toEqual(['relay_k1', 'relay_k1', 'relay_k2', 'relay_k2', 'relay_k2']);
  }, 90_000);
});
