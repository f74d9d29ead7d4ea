import { LiveServerMessageSchema, maxLiveChanges } from '@baton/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createUser } from '../auth/users.ts';
import { startRelay, type RunningRelay } from '../start-relay.ts';
import { connectLive, type LiveClient } from '../testing/live-client.ts';
import { testConfig } from '../testing/test-config.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { loggedChanges } from '../testing/logged-changes.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { createChangeFactory } from '../testing/test-relay.ts';

describeOnEachDatabase('live connection over a real socket', (kind) => {
  let relay: RunningRelay;
  const token = testConfig().firstToken!;
  const clients: LiveClient[] = [];
  const liveIdleMs = 1_000;
  beforeEach(async () => {
    relay = await startRelay({
      config: testConfig(),
      db: await createTestDatabase(kind),
      tick: false,
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await relay.close();
  });

  async function connect(asToken = token): Promise<LiveClient> {
    const client = await connectLive({ url: relay.url, token: asToken });
    clients.push(client);
    return client;
  }

  /** The user's laptop (dev_a, which pushes) and phone (dev_p), each said hello and seen. */
  async function laptopAndPhone(): Promise<{ laptop: LiveClient; phone: LiveClient }> {
    const laptop = await connect();
    laptop.send({ type: 'hello', deviceId: 'dev_a', canPlan: true });
    const phone = await connect();
    phone.send({ type: 'hello', deviceId: 'dev_p', canPlan: false });
    await laptop.next((message) => message.type === 'device');
    return { laptop, phone };
  }

  const push = (changes: unknown[], asToken = token) =>
    fetch(`${relay.url}/v1/sync/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${asToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: 'dev_a', changes }),
    });

  it('closes a live connection past the per-user limit with 4029, saying why', async () => {
    await relay.close();
    relay = await startRelay({
      config: testConfig({ liveMaxPerUser: 2 }),
      db: await createTestDatabase(kind),
      tick: false,
    });
    await connect();
    await connect();
    const third = await connect();
    expect(await third.closed).toEqual({
      code: 4029,
      reason: 'too many live connections for this user (at most 2)',
    });
    expect(relay.live.connectionCount()).toBe(2);
  });

  it('refuses a connection without a valid token, or without any token', async () => {
    await expect(connectLive({ url: relay.url, token: 'not-a-token-at-all' })).rejects.toThrow(
      '401',
    );
    const noToken = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/v1/sync/live`);
    const status = await new Promise<number>((resolve, reject) => {
      noToken.once('open', () => reject(new Error('opened without a token')));
      noToken.once('error', () => undefined);
      noToken.once('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
        response.destroy();
      });
    });
    expect(status).toBe(401);
    expect(relay.live.connectionCount()).toBe(0);
    expect(await relay.db.query('select 1 from devices')).toEqual([]);
  });

  it("never shows one user's devices to another, nor lets them cover another user", async () => {
    const { user: bob, token: bobToken } = await createUser({ db: relay.db, name: 'bob' });
    const alice = await connect();
    alice.send({ type: 'hello', deviceId: 'dev_alice', canPlan: true, name: "Alice's laptop" });
    await alice.next((message) => message.type === 'status' && message.covered === true);
    const bobTab = await connect(bobToken);
    bobTab.send({ type: 'hello', deviceId: 'dev_bob', canPlan: false });
    const bobStatus = await bobTab.next((message) => message.type === 'status');
    expect(bobStatus).toEqual({
      type: 'status',
      devices: [{ deviceId: 'dev_bob', canPlan: false }],
      covered: false,
    });
    expect(relay.live.isCovered(bob.id)).toBe(false);
    expect(relay.live.devices(bob.id)).toEqual([{ deviceId: 'dev_bob', canPlan: false }]);
    // Alice's later changes of presence never reach Bob.
    alice.send({ type: 'hello', deviceId: 'dev_alice', canPlan: false });
    await alice.next((message) => message.type === 'device' && message.covered === false);
    await alice.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(JSON.stringify(bobTab.messages)).not.toContain('dev_alice');
    expect(bobTab.messages).toEqual([bobStatus]);
  });

  it('reports presence: covered while a device that can plan is connected', async () => {
    const tab = await connect();
    tab.send({ type: 'hello', deviceId: 'dev_a', canPlan: true, name: 'Laptop' });
    expect(await tab.next((message) => message.type === 'status')).toEqual({
      type: 'status',
      devices: [{ deviceId: 'dev_a', canPlan: true, name: 'Laptop' }],
      covered: true,
    });
    const userId = (await relay.db.query<{ id: string }>('select id from users'))[0]!.id;
    expect(relay.live.isCovered(userId)).toBe(true);
    // The device row is recorded beside the status message, not before it.
    await expect
      .poll(() =>
        relay.db.query<{ device_id: string; name: string }>('select device_id, name from devices'),
      )
      .toEqual([{ device_id: 'dev_a', name: 'Laptop' }]);

    const phone = await connect();
    phone.send({ type: 'hello', deviceId: 'dev_b', canPlan: false });
    await tab.next((message) => message.type === 'device' && message.covered === true);
    expect(tab.presence().devices.map((device) => device.deviceId)).toEqual(['dev_a', 'dev_b']);
    await tab.close();
    await phone.next((message) => message.type === 'device-left' && message.covered === false);
    expect(phone.presence()).toEqual({
      devices: [{ deviceId: 'dev_b', canPlan: false }],
      covered: false,
    });
    await expect.poll(() => relay.live.isCovered(userId)).toBe(false);
  });

  it('tells a new connection every device once, and the others only what changed', async () => {
    const connections = 40;
    await relay.close();
    relay = await startRelay({
      config: testConfig({ liveMaxPerUser: connections + 2 }),
      db: await createTestDatabase(kind),
      tick: false,
    });
    const userId = (await relay.db.query<{ id: string }>('select id from users'))[0]!.id;
    const tabs: LiveClient[] = [];
    for (let index = 0; index < connections; index += 1) {
      const tab = await connect();
      tab.send({ type: 'hello', deviceId: `dev_${index}`, canPlan: index === 0 });
      const status = await tab.next((message) => message.type === 'status');
      expect((status.devices as unknown[]).length).toBe(index + 1);
      tabs.push(tab);
    }
    const charsBefore = tabs.map((tab) => tab.receivedChars());
    const countsBefore = tabs.map((tab) => tab.messages.length);

    // One more device says hello: each open connection hears one short message about it.
    const late = await connect();
    late.send({ type: 'hello', deviceId: 'dev_late', canPlan: false, name: 'Late phone' });
    await late.next((message) => message.type === 'status');
    await Promise.all(
      tabs.map((tab) => tab.next((message) => JSON.stringify(message).includes('dev_late'))),
    );
    tabs.forEach((tab, index) => {
      expect(tab.messages.length - countsBefore[index]!).toBe(1);
      expect(tab.receivedChars() - charsBefore[index]!).toBeLessThan(200);
    });

    // A second tab of a device already listed changes nothing the others see.
    const twin = await connect();
    twin.send({ type: 'hello', deviceId: 'dev_late', canPlan: false, name: 'Late phone' });
    await twin.next((message) => message.type === 'status');
    // Leaving, gaining and losing the ability to plan: every view follows.
    await tabs[0]!.close();
    tabs[1]!.send({ type: 'hello', deviceId: 'dev_1', canPlan: true, name: 'Now planning' });
    await tabs[5]!.close();
    await late.close();
    await twin.next(
      (message) => message.type === 'device' && JSON.stringify(message).includes('Now planning'),
    );
    await twin.next((message) => message.type === 'device-left' && message.deviceId === 'dev_5');
    await expect.poll(() => relay.live.connectionCount()).toBe(connections - 1);
    const open = [...tabs.slice(1).filter((_, index) => index !== 4), twin];
    const expected = relay.live.devices(userId);
    expect(expected).toHaveLength(connections - 1);
    expect(expected.find((device) => device.deviceId === 'dev_late')).toBeDefined();
    for (const tab of open)
      await expect.poll(() => tab.presence()).toEqual({ devices: expected, covered: true });
    expect(tabs[2]!.messages.filter((message) => message.type === 'status')).toHaveLength(1);
  });

  it('refuses a device name longer than 64 characters', async () => {
    const tab = await connect();
    tab.send({ type: 'hello', deviceId: 'dev_a', canPlan: true, name: 'x'.repeat(65) });
    const error = await tab.next((message) => message.type === 'error');
    expect((error.error as { message: string }).message).toContain('name');
    tab.send({ type: 'hello', deviceId: 'dev_a', canPlan: true, name: 'x'.repeat(64) });
    const status = await tab.next((message) => message.type === 'status');
    expect(status.devices).toEqual([{ deviceId: 'dev_a', canPlan: true, name: 'x'.repeat(64) }]);
  });

  it('keeps a connection that pings and closes one that falls silent, uncovering its user', async () => {
    await relay.close();
    relay = await startRelay({
      config: testConfig({ liveIdleMs }),
      db: await createTestDatabase(kind),
      tick: false,
    });
    const tab = await connect();
    tab.send({ type: 'hello', deviceId: 'dev_a', canPlan: true });
    await tab.next((message) => message.type === 'status' && message.covered === true);
    const userId = (await relay.db.query<{ id: string }>('select id from users'))[0]!.id;
    // Pinging for twice the idle limit keeps it open.
    for (let elapsed = 0; elapsed < 2 * liveIdleMs; elapsed += 250) {
      tab.send({ type: 'ping' });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(relay.live.isCovered(userId)).toBe(true);
    const closed = await tab.closed;
    expect(closed.code).toBe(4000);
    expect(relay.live.isCovered(userId)).toBe(false);
    expect(relay.live.connectionCount()).toBe(0);
  });

  it('pokes with the new cursor after a push, only for that user', async () => {
    const { token: bobToken } = await createUser({ db: relay.db, name: 'bob' });
    const alice = await connect();
    alice.send({ type: 'hello', deviceId: 'dev_p', canPlan: true });
    const bob = await connect(bobToken);
    bob.send({ type: 'hello', deviceId: 'dev_b', canPlan: true });
    await bob.next((message) => message.type === 'status');

    const change = createChangeFactory({ wallMs: Date.now() });
    const response = await push([change('t1')]);
    const { cursor } = (await response.json()) as { cursor: string };
    expect(await alice.next((message) => message.type === 'poke')).toMatchObject({
      type: 'poke',
      cursor,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(bob.messages.some((message) => message.type === 'poke')).toBe(false);
  });

  const pull = async (since: string) => {
    const response = await fetch(`${relay.url}/v1/sync/pull?since=${since}&limit=1000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return (await response.json()) as { changes: unknown[]; cursor: string; more: boolean };
  };

  it("carries a small push's changes in its poke, with the cursor range a pull would give", async () => {
    const alice = await connect();
    alice.send({ type: 'hello', deviceId: 'dev_p', canPlan: true });
    await alice.next((message) => message.type === 'status');
    const change = createChangeFactory({ wallMs: Date.now() });
    await push([change('t1')]);
    const first = await alice.next((message) => message.type === 'poke');

    const pushed = [change('t2'), change('t3', { title: 'Third', done: true })];
    const { cursor } = (await (await push(pushed)).json()) as { cursor: string };
    const poke = await alice.next(
      (message) => message.type === 'poke' && message.cursor === cursor,
    );
    expect(LiveServerMessageSchema.parse(poke)).toEqual({
      type: 'poke',
      since: first.cursor,
      cursor,
      changes: pushed,
    });
    // Exactly what a device at `since` would pull: nothing skipped, nothing more.
    expect(await pull(first.cursor as string)).toEqual({ changes: pushed, cursor, more: false });
  });

  it('only pokes after a push too large to carry, or one that repeats a change', async () => {
    const alice = await connect();
    alice.send({ type: 'hello', deviceId: 'dev_p', canPlan: true });
    await alice.next((message) => message.type === 'status');
    const change = createChangeFactory({ wallMs: Date.now() });
    const many = Array.from({ length: maxLiveChanges + 1 }, (_, index) => change(`t${index}`));
    const large = (await (await push(many)).json()) as { cursor: string };
    expect(
      await alice.next((message) => message.type === 'poke' && message.cursor === large.cursor),
    ).toEqual({ type: 'poke', cursor: large.cursor });

    const again = (await (await push([many[0], change('fresh')])).json()) as {
      cursor: string;
      duplicates: number;
    };
    expect(again.duplicates).toBe(1);
    expect(
      await alice.next((message) => message.type === 'poke' && message.cursor === again.cursor),
    ).toEqual({ type: 'poke', cursor: again.cursor });
  });

  it("does not poke the device that pushed, only the user's other devices", async () => {
    const { laptop, phone } = await laptopAndPhone();
    const change = createChangeFactory({ wallMs: Date.now() });
    const { cursor } = (await (await push([change('t1')])).json()) as { cursor: string };
    expect(await phone.next((message) => message.type === 'poke')).toMatchObject({ cursor });
    // The laptop pushed: its push's answer says where the changes went, and it pulls after
    // every push, so a poke would only send its own changes back to it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(laptop.messages.some((message) => message.type === 'poke')).toBe(false);
    // A commit that is not a device's push (the relay's runner, another user) still pokes it.
    const userId = (await relay.db.query<{ id: string }>('select id from users'))[0]!.id;
    relay.live.poke({ userId, cursor });
    expect(await laptop.next((message) => message.type === 'poke')).toEqual({
      type: 'poke',
      cursor,
    });
  });

  it('takes a push sent on the live connection as POST /v1/sync/push takes it', async () => {
    const { laptop, phone } = await laptopAndPhone();
    const change = createChangeFactory({ wallMs: Date.now() });
    const first = change('t1');
    laptop.send({ type: 'push', request: 'r1', push: { deviceId: 'dev_a', changes: [first] } });
    const answer = await laptop.next((message) => message.type === 'pushed');
    expect(answer).toEqual({
      type: 'pushed',
      request: 'r1',
      status: 200,
      body: { accepted: 1, duplicates: 0, cursor: expect.any(String), since: expect.any(String) },
    });
    const { cursor } = answer.body as { cursor: string };
    // The other device is poked with the change, as after an HTTP push; the pusher is not.
    expect(await phone.next((message) => message.type === 'poke')).toMatchObject({
      cursor,
      changes: [first],
    });
    const pulled = (await (
      await fetch(`${relay.url}/v1/sync/pull`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { changes: unknown[]; cursor: string };
    expect(pulled).toMatchObject({ changes: [first], cursor });
    // Sent again (its answer lost), it is a duplicate, as over HTTP.
    laptop.send({ type: 'push', request: 'r2', push: { deviceId: 'dev_a', changes: [first] } });
    expect(
      await laptop.next((message) => message.type === 'pushed' && message.request === 'r2'),
    ).toMatchObject({ status: 200, body: { accepted: 0, duplicates: 1, cursor } });
    expect(laptop.messages.some((message) => message.type === 'poke')).toBe(false);
  });

  it('answers a bad live push with the status and error the HTTP route gives, storing nothing', async () => {
    const tab = await connect();
    tab.send({ type: 'hello', deviceId: 'dev_a', canPlan: true });
    const change = createChangeFactory({ wallMs: Date.now() });
    const bad = { ...change('t1'), hlc: 'yesterday' };
    const overHttp = await push([bad]);
    tab.send({ type: 'push', request: 'bad', push: { deviceId: 'dev_a', changes: [bad] } });
    const answer = await tab.next((message) => message.type === 'pushed');
    expect(answer).toMatchObject({ request: 'bad', status: overHttp.status });
    expect(overHttp.status).toBe(400);
    expect(answer.body).toEqual(await overHttp.json());
    expect((answer.body as { error: { field?: string } }).error.field).toBe('changes.0.hlc');
    expect(await loggedChanges(relay.db)).toEqual([]);
  });

  it('answers ping and explains an unusable message', async () => {
    const tab = await connect();
    tab.send({ type: 'ping' });
    await tab.next((message) => message.type === 'pong');
    tab.send({ type: 'hello', deviceId: 'has spaces' });
    const error = await tab.next((message) => message.type === 'error');
    expect((error.error as { kind: string }).kind).toBe('invalid');
  });
});
