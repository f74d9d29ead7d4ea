import 'fake-indexeddb/auto';
import { createEngine, type Change } from '@baton/engine';
import { ulid } from 'ulid';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../db/database.ts';
import { createDexieStore, readOutbox } from '../db/dexie-store.ts';
import { createMetaStore } from './meta.ts';
import { createSyncClient } from './sync-client.ts';
import { taskChange as change, json } from '../testing/fixtures.ts';

let counter = 0;

async function setup(options: { token?: string; retryMs?: number; start?: boolean } = {}) {
  counter += 1;
  const db = openDatabase(`sync-test-${counter}`);
  const meta = createMetaStore(db);
  const applied: Change[] = [];
  const client = createSyncClient({
    db,
    meta,
    deviceId: 'dev_a',
    deviceName: () => 'Test',
    target: () => ({ url: 'http://relay.test', token: options.token ?? 'secret-token' }),
    applyRemote: async (changes: unknown[]) => {
      applied.push(...(changes as Change[]));
      return { applied: changes.length, refused: [] };
    },
    onChange: () => undefined,
    ...(options.retryMs ? { retry: { baseMs: options.retryMs, maxMs: options.retryMs } } : {}),
  });
  // Node has no WebSocket: the live connection stays down; these tests are about push and pull.
  if (options.start !== false) client.start();
  return { db, meta, client, applied, store: createDexieStore(db) };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('sync client', () => {
  it('pushes the outbox in order, then pulls every page and keeps the cursor', async () => {
    const pushed: string[][] = [];
    const pulls: string[] = [];
    // The relay answers from the start (the client syncs as soon as it starts).
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      const path = new URL(url);
      expect(new Headers(init.headers).get('authorization')).toBe('Bearer secret-token');
      if (path.pathname === '/v1/sync/push') {
        pushed.push(
          (JSON.parse(String(init.body)) as { changes: Change[] }).changes.map(
            (item) => item.rowId,
          ),
        );
        return json(200, { accepted: 3, duplicates: 0, cursor: '3' });
      }
      const since = path.searchParams.get('since') ?? '';
      pulls.push(since);
      if (since === '4') return json(200, { changes: [], cursor: '4', more: false });
      return since === '3'
        ? json(200, { changes: [change(9)], cursor: '4', more: false })
        : json(200, { changes: [change(7), change(8)], cursor: '3', more: true });
    });
    const { db, meta, client, applied, store } = await setup({ start: false });
    await store.transaction((writer) => writer.record([change(1), change(2)]));
    await store.transaction((writer) => writer.record([change(3)]));
    client.start();
    await client.syncNow();
    client.close();
    expect(pushed).toEqual([['t1', 't2', 't3']]);
    expect(await readOutbox(db)).toEqual([]);
    // Every page once, then (a round asked for meanwhile) nothing new after the cursor.
    expect(pulls.slice(0, 2)).toEqual(['', '3']);
    expect(pulls.slice(2).every((since) => since === '4')).toBe(true);
    expect(applied.map((item) => item.rowId)).toEqual(['t7', 't8', 't9']);
    expect(await meta.get('cursor')).toBe('4');
    expect(client.state).toMatchObject({
      connection: 'online',
      outboxSize: 0,
      cursor: '4',
      pushes: 1,
      // The pages that moved the cursor; an empty one at the stored cursor leaves it be.
      pulls: 2,
    });
    await db.delete();
  });

  it('keeps the outbox and reports offline when the relay is unreachable', async () => {
    const { db, client, store } = await setup();
    await store.transaction((writer) => writer.record([change(1)]));
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    await client.syncNow();
    expect(client.state.connection).toBe('offline');
    expect(await readOutbox(db)).toHaveLength(1);
    vi.stubGlobal('fetch', async (url: string) =>
      new URL(url).pathname === '/v1/sync/push'
        ? json(200, { accepted: 1, duplicates: 0, cursor: '1' })
        : json(200, { changes: [], cursor: '1', more: false }),
    );
    await client.syncNow();
    client.close();
    expect(client.state.connection).toBe('online');
    expect(await readOutbox(db)).toEqual([]);
    await db.delete();
  });

  it('stops on a refused token instead of retrying', async () => {
    const { db, client } = await setup({ retryMs: 10 });
    const fetch = vi.fn(async () =>
      json(401, { error: { kind: 'unauthorized', message: 'bad token' } }),
    );
    vi.stubGlobal('fetch', fetch);
    await client.syncNow();
    const calls = fetch.mock.calls.length;
    // With a 10 ms retry, a client that kept retrying would have called again by now.
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.close();
    expect(client.state.connection).toBe('unauthorized');
    expect(client.state.lastError).toBe('bad token');
    expect(fetch).toHaveBeenCalledTimes(calls);
    await db.delete();
  });

  it('applies nothing from a pull page that does not fit the protocol, and says so', async () => {
    const { db, meta, client, applied } = await setup();
    vi.stubGlobal('fetch', async () => json(200, { changes: [change(1)], cursor: 9, more: 'no' }));
    await client.syncNow();
    client.close();
    expect(applied).toEqual([]);
    expect(await meta.get('cursor')).toBeUndefined();
    expect(client.state.connection).toBe('error');
    expect(client.state.lastError).toMatch(/pull page this app cannot use \(cursor: /);
    await db.delete();
  });

  it('applies the readable changes of a page and names the one the engine refused', async () => {
    counter += 1;
    const db = openDatabase(`sync-test-${counter}`);
    const store = createDexieStore(db);
    const engine = createEngine({
      store,
      clock: { now: () => Date.now() },
      ids: { ulid: () => ulid() },
      nodeId: 'dev_b',
      runner: { kind: 'device', deviceId: 'dev_b' },
    });
    const client = createSyncClient({
      db,
      meta: createMetaStore(db),
      deviceId: 'dev_b',
      deviceName: () => 'Test',
      target: () => ({ url: 'http://relay.test', token: 'secret-token' }),
      applyRemote: (changes) => engine.applyRemote(changes),
      onChange: () => undefined,
    });
    client.start();
    vi.stubGlobal('fetch', async () =>
      json(200, {
        changes: [{ ...change(1), hlc: 'yesterday' }, change(2)],
        cursor: '9',
        more: false,
      }),
    );
    await client.syncNow();
    client.close();
    expect((await store.list('tasks')).map((row) => row.id)).toEqual(['t2']);
    expect(client.state.connection).toBe('online');
    expect(client.state.cursor).toBe('9');
    expect(client.state.lastError).toMatch(
      /The relay sent a change this device could not use \(01J0+1: hlc: must be an HLC stamp/,
    );
    await db.delete();
  });

  it('keeps the outbox when the push answer does not fit the protocol', async () => {
    const { db, client, store } = await setup();
    await store.transaction((writer) => writer.record([change(1)]));
    vi.stubGlobal('fetch', async () => json(200, { ok: true }));
    await client.syncNow();
    client.close();
    expect(await readOutbox(db)).toHaveLength(1);
    expect(client.state.connection).toBe('error');
    await db.delete();
  });

  it('retries at once when the network comes back instead of waiting out the backoff', async () => {
    const { db, client, store } = await setup({ retryMs: 600_000 });
    await store.transaction((writer) => writer.record([change(1)]));
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    await client.syncNow();
    expect(client.state.connection).toBe('offline');
    vi.stubGlobal('fetch', async (url: string) =>
      new URL(url).pathname === '/v1/sync/push'
        ? json(200, { accepted: 1, duplicates: 0, cursor: '1' })
        : json(200, { changes: [], cursor: '1', more: false }),
    );
    client.networkChanged(true);
    await client.syncNow();
    client.close();
    expect(client.state.connection).toBe('online');
    expect(await readOutbox(db)).toEqual([]);
    await db.delete();
  });

  it('makes no request while stopped (a host that does not lead)', async () => {
    const { db, client, store } = await setup();
    await client.syncNow();
    client.close();
    await store.transaction((writer) => writer.record([change(1)]));
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    client.kick();
    client.networkChanged(true);
    await client.syncNow();
    expect(fetch).not.toHaveBeenCalled();
    await db.delete();
  });

  it('does nothing while signed out', async () => {
    const { db, client } = await setup({ token: '' });
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    await client.syncNow();
    client.close();
    expect(client.state.connection).toBe('signed_out');
    expect(fetch).not.toHaveBeenCalled();
    await db.delete();
  });

  it("applies a poke's changes at its cursor without a pull, and pulls when they start after a gap", async () => {
    /** A live socket the test speaks through (Node has no WebSocket). */
    class FakeSocket {
      static OPEN = 1;
      static last: FakeSocket | undefined;
      readyState = 1;
      onopen: (() => void) | undefined;
      onmessage: ((event: { data: string }) => void) | undefined;
      onclose: (() => void) | undefined;
      onerror: (() => void) | undefined;
      constructor() {
        FakeSocket.last = this;
        queueMicrotask(() => this.onopen?.());
      }
      send() {}
      close() {
        this.onclose?.();
      }
    }
    vi.stubGlobal('WebSocket', FakeSocket);
    const pulls: string[] = [];
    vi.stubGlobal('fetch', async (url: string) => {
      const since = new URL(url).searchParams.get('since') ?? '';
      pulls.push(since);
      if (since === '') return json(200, { changes: [change(1)], cursor: 'u1', more: false });
      if (since === 'u2')
        return json(200, { changes: [change(3), change(4)], cursor: 'u4', more: false });
      return json(200, { changes: [], cursor: since, more: false });
    });
    const { db, meta, client, applied } = await setup();
    await client.syncNow();
    const until = async (done: () => boolean) => {
      for (let attempt = 0; attempt < 200 && !done(); attempt += 1)
        await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const poke = (message: Record<string, unknown>) =>
      FakeSocket.last?.onmessage?.({ data: JSON.stringify({ type: 'poke', ...message }) });
    const pullsBefore = pulls.length;

    poke({ since: 'u1', cursor: 'u2', changes: [change(2)] });
    await until(() => client.state.cursor === 'u2');
    expect(applied.map((item) => item.rowId)).toEqual(['t1', 't2']);
    expect(pulls.length).toBe(pullsBefore);
    expect(await meta.get('cursor')).toBe('u2');

    // Change 3's poke never came: change 4's starts after this device's cursor.
    poke({ since: 'u3', cursor: 'u4', changes: [change(4)] });
    await until(() => client.state.cursor === 'u4');
    await client.syncNow();
    client.close();
    expect(pulls.slice(pullsBefore)[0]).toBe('u2');
    expect(applied.map((item) => item.rowId)).toEqual(['t1', 't2', 't3', 't4']);
    expect(await meta.get('cursor')).toBe('u4');
    await db.delete();
  });
});

describe('sync client, pushing on the live connection', () => {
  /** The test's side of a live socket. */
  interface LiveSocket {
    sent: Array<Record<string, unknown>>;
    receive(message: Record<string, unknown>): void;
    close(): void;
  }

  /** A live socket that answers each push as `answer` says (Node has no WebSocket). */
  function liveSocket(answer: (socket: LiveSocket, push: Record<string, unknown>) => void) {
    const sockets: LiveSocket[] = [];
    class FakeLiveSocket implements LiveSocket {
      static OPEN = 1;
      readyState = 1;
      sent: Array<Record<string, unknown>> = [];
      onopen: (() => void) | undefined;
      onmessage: ((event: { data: string }) => void) | undefined;
      onclose: (() => void) | undefined;
      onerror: (() => void) | undefined;
      constructor() {
        sockets.push(this);
        queueMicrotask(() => this.onopen?.());
      }
      send(text: string) {
        const message = JSON.parse(text) as Record<string, unknown>;
        this.sent.push(message);
        if (message.type === 'push') queueMicrotask(() => answer(this, message));
      }
      receive(message: Record<string, unknown>) {
        this.onmessage?.({ data: JSON.stringify(message) });
      }
      close() {
        this.readyState = 3;
        this.onclose?.();
      }
    }
    vi.stubGlobal('WebSocket', FakeLiveSocket);
    return sockets;
  }

  /** The relay's HTTP side: pushes and pulls counted, every pull empty at `cursor`. */
  function http(cursor = '1') {
    const pushes: Change[][] = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      if (new URL(url).pathname === '/v1/sync/push') {
        const { changes } = JSON.parse(String(init.body)) as { changes: Change[] };
        pushes.push(changes);
        return json(200, { accepted: changes.length, duplicates: 0, cursor });
      }
      return json(200, { changes: [], cursor, more: false });
    });
    return pushes;
  }

  /** A started client whose first round is done, with `change(1)` then put in its outbox. */
  async function withOneChange() {
    const context = await setup();
    await context.client.syncNow();
    await context.store.transaction((writer) => writer.record([change(1)]));
    return context;
  }

  it('sends a small push on the open live connection and takes its answer there', async () => {
    const sockets = liveSocket((socket, message) =>
      socket.receive({
        type: 'pushed',
        request: message.request,
        status: 200,
        body: { accepted: 1, duplicates: 0, cursor: '1' },
      }),
    );
    const httpPushes = http();
    const { db, client } = await withOneChange();
    await client.syncNow();
    client.close();
    const pushes = sockets[0]!.sent.filter((message) => message.type === 'push');
    expect(pushes).toEqual([
      {
        type: 'push',
        request: expect.any(String),
        push: { deviceId: 'dev_a', changes: [change(1)] },
      },
    ]);
    expect(httpPushes).toEqual([]);
    expect(await readOutbox(db)).toEqual([]);
    expect(client.state).toMatchObject({ connection: 'online', pushes: 1 });
    await db.delete();
  });

  it('pushes over HTTP when the live connection ends before the answer', async () => {
    const sockets = liveSocket((socket) => socket.close());
    const httpPushes = http();
    const { db, client } = await withOneChange();
    await client.syncNow();
    client.close();
    expect(sockets[0]!.sent.some((message) => message.type === 'push')).toBe(true);
    expect(httpPushes).toEqual([[change(1)]]);
    expect(await readOutbox(db)).toEqual([]);
    await db.delete();
  });

  it('pushes over HTTP when the relay does not know live pushes, and from then on', async () => {
    const sockets = liveSocket((socket) =>
      socket.receive({ type: 'error', error: { kind: 'invalid', message: 'unusable message' } }),
    );
    const httpPushes = http();
    const { db, client, store } = await withOneChange();
    await client.syncNow();
    await store.transaction((writer) => writer.record([change(2)]));
    await client.syncNow();
    client.close();
    expect(sockets[0]!.sent.filter((message) => message.type === 'push')).toHaveLength(1);
    expect(httpPushes).toEqual([[change(1)], [change(2)]]);
    expect(client.state.lastError).toBeNull();
    await db.delete();
  });

  it('refuses a change the relay refused on the live connection, as over HTTP', async () => {
    liveSocket((socket, message) =>
      socket.receive({
        type: 'pushed',
        request: message.request,
        status: 400,
        body: { error: { kind: 'invalid', message: 'bad stamp', field: 'changes.0.hlc' } },
      }),
    );
    http();
    const { db, client } = await withOneChange();
    await client.syncNow();
    client.close();
    expect(await readOutbox(db)).toEqual([]);
    const refused = await db.refused.toArray();
    expect(refused).toEqual([
      expect.objectContaining({ change: change(1), reason: expect.stringContaining('bad stamp') }),
    ]);
    await db.delete();
  });
});
