import {
  LiveServerMessageSchema,
  applyLiveChanges,
  applyPresence,
  isEngineError,
  maxLivePushBytes,
  syncRound,
  type ApplyReport,
  type CursorStore,
  type Outbox,
  type PokeMessage,
} from '@baton/engine';
import type { BatonDatabase } from '../db/database.ts';
import { createDexieOutbox } from '../db/dexie-store.ts';
import { createBackoff } from './backoff.ts';
import type { Connection, PresenceDevice } from './engine-api.ts';
import { createMetaCursorStore, type MetaStore } from './meta.ts';
import { relayUrl, type RelayTargetSource } from './relay-http.ts';
import { createRelayTransport, type LivePush } from './relay-transport.ts';

const pushBatch = 500;
/** How long a push sent on the live connection waits for its answer before going over HTTP. */
const livePushAnswerMs = 30_000;
/** The relay's largest page: fewer round trips on a long pull. */
const pullLimit = 1_000;
/** How often the live connection says it is alive; the relay closes one silent for 3× this. */
export const livePingMs = 20_000;
/** The relay refuses a longer device name in `hello`. */
const deviceNameMax = 64;

export interface SyncState {
  connection: Connection;
  outboxSize: number;
  cursor: string | null;
  devices: PresenceDevice[];
  covered: boolean;
  liveConnected: boolean;
  lastError: string | null;
  /** Pushes the relay acknowledged. */
  pushes: number;
  /** Times the stored cursor was written: pulled pages that brought changes or moved it. */
  pulls: number;
}

export interface SyncClient {
  readonly state: SyncState;
  /**
   * Starts (or restarts, after a settings change) the live connection and a sync round. Until
   * then, and after `close()`, the client makes no request at all: only the leading host syncs.
   */
  start(): void;
  /** Asks for a push and pull soon (after a local write, or a poke). No-op while stopped. */
  kick(): void;
  /** Resolves when one full round (push, then pull) has finished (at once while stopped). */
  syncNow(): Promise<void>;
  /**
   * The browser says the network came back (reconnect and sync now, skipping the backoff) or
   * went away (show offline at once, then check: a relay on this machine may still answer).
   */
  networkChanged(online: boolean): void;
  close(): void;
}

/** Words for changes a pull brought that this device could not use (null when none). */
function refusedMessage(refused: ApplyReport['refused']): string | null {
  const [first] = refused;
  if (!first) return null;
  const count = refused.length === 1 ? 'a change' : `${refused.length} changes`;
  return `The relay sent ${count} this device could not use (${first.id || 'no id'}: ${first.message}); the rest was applied.`;
}

/**
 * The device side of the sync protocol: runs the engine's `syncRound` (push the outbox in order,
 * pull from the stored cursor until `more` is false) over the relay's HTTP API, and keeps one
 * live WebSocket to the relay (presence in, pokes out). A poke that carries a push's changes
 * starting at the stored cursor is applied without a pull (`applyLiveChanges`); any other poke
 * starts a round. Failures retry with exponential backoff; nothing is lost, since the outbox and the cursor
 * live in IndexedDB. Every relay answer and live message is checked with the protocol schemas
 * from @baton/engine; one that does not fit is a sync error (`connection: 'error'`), and nothing
 * of it is applied.
 */
export function createSyncClient(options: {
  db: BatonDatabase;
  meta: MetaStore;
  deviceId: string;
  /**
   * The claim holder of the host that runs this client (the one that plans): the relay releases
   * its claims when this connection ends and does not come back within its grace.
   */
  holder?: string;
  deviceName: () => string;
  target: RelayTargetSource;
  /**
   * Applies a pull page's changes (the engine checks each one and refuses the unreadable ones,
   * applying the rest): the client reports the refusals as a sync error.
   */
  applyRemote: (changes: unknown[]) => Promise<ApplyReport>;
  onChange: () => void;
  /** First retry delay after a failed round, doubling to `maxMs` (defaults 1 s and 30 s). */
  retry?: { baseMs: number; maxMs: number };
}): SyncClient {
  const { db, meta } = options;
  const state: SyncState = {
    connection: 'signed_out',
    outboxSize: 0,
    cursor: null,
    devices: [],
    covered: false,
    liveConnected: false,
    lastError: null,
    pushes: 0,
    pulls: 0,
  };
  const roundBackoff = createBackoff(options.retry ?? {});
  const liveBackoff = createBackoff();
  let socket: WebSocket | undefined;
  let liveTimer: ReturnType<typeof setTimeout> | undefined;
  let pingTimer: ReturnType<typeof setInterval> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  /** A full round is wanted (a kick, a plain poke, a gap before a poke's changes). */
  let roundWanted = false;
  /** Pokes with changes, in the order they came, waiting to be applied between rounds. */
  const pokes: PokeMessage[] = [];
  let generation = 0;
  let closed = true;

  function set(patch: Partial<SyncState>): void {
    Object.assign(state, patch);
    options.onChange();
  }

  async function refreshOutboxSize(): Promise<void> {
    set({ outboxSize: await db.outbox.count() });
  }

  /** Live pushes waiting for their `pushed` answer, by request name (decision 0020). */
  const livePushes = new Map<
    string,
    { resolve: (answer: { status: number; body: unknown }) => void; reject: (error: Error) => void }
  >();
  let livePushCount = 0;
  /** Set when this connection's relay does not take live pushes (it answered one an error). */
  let livePushRefused = false;
  /** Ends every live push still waiting for its answer: each goes over HTTP instead. */
  function dropLivePushes(reason: string): void {
    for (const waiting of livePushes.values()) waiting.reject(new Error(reason));
    livePushes.clear();
  }
  const livePush: LivePush = (push) => {
    const ws = socket;
    if (!ws || ws.readyState !== WebSocket.OPEN || livePushRefused) return undefined;
    livePushCount += 1;
    const request = `push-${livePushCount}`;
    const text = JSON.stringify({ type: 'push', request, push });
    // Up to 3 bytes a UTF-16 unit: only a long text needs counting.
    if (text.length * 3 > maxLivePushBytes && new Blob([text]).size > maxLivePushBytes)
      return undefined;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        livePushes.delete(request);
        reject(new Error('no answer on the live connection'));
      }, livePushAnswerMs);
      livePushes.set(request, {
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      try {
        ws.send(text);
      } catch (error) {
        livePushes.get(request)?.reject(error as Error);
        livePushes.delete(request);
      }
    });
  };
  const transport = createRelayTransport({ target: options.target, live: livePush });
  const dexieOutbox = createDexieOutbox(db);
  const metaCursor = createMetaCursorStore(meta);
  // The engine's round runs the protocol; these report its progress as it goes.
  const outbox: Outbox = {
    read: (limit) => dexieOutbox.read(limit),
    async drop(throughSeq) {
      await dexieOutbox.drop(throughSeq);
      state.pushes += 1;
      await refreshOutboxSize();
    },
    async refuse(entry, reason) {
      await dexieOutbox.refuse(entry, reason);
      console.warn('[baton] the relay refused a change', entry.change.id, reason);
      await refreshOutboxSize();
    },
  };
  /**
   * The stored cursor as this client last read or wrote it: only the leading host syncs, so
   * while it runs nothing else moves it (`start` reads it again).
   */
  let knownCursor: { value: string | undefined } | undefined;
  const cursor: CursorStore = {
    async get() {
      knownCursor ??= { value: await metaCursor.get() };
      return knownCursor.value;
    },
    async set(value) {
      await metaCursor.set(value);
      knownCursor = { value };
      state.pulls += 1;
      set({ cursor: value });
    },
  };

  async function round(): Promise<void> {
    clearTimeout(retryTimer);
    if (closed) return;
    // Counted after the push, not beside it: the push's read of the outbox goes first, and the
    // count is for the status (each page counts the outbox itself, as it changes).
    const counted = () => refreshOutboxSize().catch(() => undefined);
    if (!options.target().token) {
      await counted();
      set({ connection: 'signed_out' });
      return;
    }
    const before = state.connection;
    try {
      // Pushes are idempotent by change id: a batch the relay did not acknowledge (or whose
      // answer we cannot read) stays in the outbox for the next round.
      const report = await syncRound({
        transport,
        outbox,
        cursor,
        deviceId: options.deviceId,
        apply: options.applyRemote,
        pushBatch,
        pullLimit,
      });
      await counted();
      roundBackoff.reset();
      set({ connection: 'online', lastError: refusedMessage(report.refused) });
      // Back from offline: reconnect the live connection now rather than after its backoff.
      if (before !== 'online' && !socket && !closed) {
        liveBackoff.reset();
        clearTimeout(liveTimer);
        openLive();
      }
    } catch (error) {
      await counted();
      if (closed) return;
      const unauthorized = isEngineError(error, 'unauthorized');
      const unreachable = isEngineError(error, 'unavailable');
      set({
        connection: unauthorized ? 'unauthorized' : unreachable ? 'offline' : 'error',
        lastError: (error as Error).message,
      });
      // A live connection to a relay we cannot reach is a stale one: let it reconnect.
      if (unreachable) socket?.close();
      if (!unauthorized) retryTimer = setTimeout(() => void syncNow(), roundBackoff.next());
    }
  }

  /**
   * Applies a poke's changes without a pull when they start at the stored cursor; otherwise (or
   * when applying fails) asks for a round. What the merge wrote in turn (a superseded step, an
   * undone execution) sits in the outbox: a round pushes it.
   */
  async function applyPoke(poke: PokeMessage): Promise<void> {
    try {
      const outcome = await applyLiveChanges({ poke, cursor, apply: options.applyRemote });
      if (outcome.outcome === 'current') return;
      if (outcome.outcome === 'pull') {
        roundWanted = true;
        return;
      }
      if (outcome.report.refused.length > 0)
        set({ lastError: refusedMessage(outcome.report.refused) });
      await refreshOutboxSize();
      if (state.outboxSize > 0) roundWanted = true;
    } catch (error) {
      console.warn('[baton] could not apply a live poke’s changes; pulling instead', error);
      roundWanted = true;
    }
  }

  /**
   * Runs what is wanted, one thing at a time (rounds and pokes' changes both move the cursor):
   * a round when one is wanted, else the next poke's changes. A round pulls everything the
   * pokes that came before it carried, so it drops them; pokes that come during it wait.
   */
  function drain(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) return running;
    running = (async () => {
      while (!closed && (roundWanted || pokes.length > 0)) {
        if (roundWanted) {
          roundWanted = false;
          pokes.length = 0;
          await round();
        } else await applyPoke(pokes.shift()!);
      }
    })().finally(() => {
      running = undefined;
      if (!closed && (roundWanted || pokes.length > 0)) void drain();
    });
    return running;
  }

  function syncNow(): Promise<void> {
    if (closed) return Promise.resolve();
    roundWanted = true;
    return drain();
  }

  function openLive(): void {
    const myGeneration = generation;
    const target = options.target();
    if (!target.token || closed) return;
    const url = new URL(relayUrl(target.url, '/v1/sync/live'));
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', target.token);
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (error) {
      set({ lastError: (error as Error).message });
      scheduleLive(myGeneration);
      return;
    }
    socket = ws;
    livePushRefused = false;
    ws.onopen = () => {
      liveBackoff.reset();
      ws.send(
        JSON.stringify({
          type: 'hello',
          deviceId: options.deviceId,
          name: options.deviceName().slice(0, deviceNameMax),
          canPlan: true,
          ...(options.holder ? { holder: options.holder } : {}),
        }),
      );
      clearInterval(pingTimer);
      pingTimer = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping' }));
      }, livePingMs);
      set({ liveConnected: true });
      void syncNow();
    };
    ws.onmessage = (event) => {
      let data: unknown;
      try {
        data = JSON.parse(String(event.data));
      } catch {
        data = undefined;
      }
      const parsed = LiveServerMessageSchema.safeParse(data);
      if (!parsed.success) {
        console.warn('[baton] unusable live message from the relay', parsed.error.issues[0]);
        return;
      }
      const message = parsed.data;
      if (message.type === 'poke') {
        if (message.changes && state.connection === 'online') {
          pokes.push(message);
          void drain();
        } else void syncNow();
      } else if (
        message.type === 'status' ||
        message.type === 'device' ||
        message.type === 'device-left'
      )
        set(applyPresence({ devices: state.devices, covered: state.covered }, message));
      else if (message.type === 'pushed') {
        const waiting = livePushes.get(message.request);
        livePushes.delete(message.request);
        waiting?.resolve({ status: message.status, body: message.body });
      } else if (message.type === 'error') {
        if (livePushes.size > 0) {
          // A relay that does not know live pushes refuses them as unusable messages: from now
          // on this connection's pushes go over HTTP, the waiting ones too.
          livePushRefused = true;
          dropLivePushes('the relay refused a live push');
          return;
        }
        set({ lastError: `The relay refused a live message: ${message.error.message}` });
      }
    };
    ws.onclose = () => {
      if (socket === ws) {
        socket = undefined;
        clearInterval(pingTimer);
        dropLivePushes('the live connection ended');
      }
      set({ liveConnected: false, devices: [], covered: false });
      if (myGeneration === generation) {
        scheduleLive(myGeneration);
        void syncNow();
      }
    };
    ws.onerror = () => {
      // onclose follows and schedules the reconnect.
    };
  }

  function scheduleLive(myGeneration: number): void {
    clearTimeout(liveTimer);
    if (closed || myGeneration !== generation) return;
    liveTimer = setTimeout(() => openLive(), liveBackoff.next());
  }

  function stopLive(): void {
    generation += 1;
    clearTimeout(liveTimer);
    const ws = socket;
    socket = undefined;
    clearInterval(pingTimer);
    dropLivePushes('the live connection ended');
    ws?.close();
    set({ liveConnected: false, devices: [], covered: false });
  }

  return {
    state,
    start() {
      closed = false;
      knownCursor = undefined;
      stopLive();
      clearTimeout(retryTimer);
      roundBackoff.reset();
      liveBackoff.reset();
      void meta.get('cursor').then((cursor) => set({ cursor: cursor ?? null }));
      set({ connection: options.target().token ? 'connecting' : 'signed_out' });
      openLive();
      void syncNow();
    },
    kick() {
      void syncNow();
    },
    syncNow,
    networkChanged(online) {
      if (closed || !options.target().token) return;
      clearTimeout(retryTimer);
      roundBackoff.reset();
      if (online) {
        liveBackoff.reset();
        if (!socket) {
          clearTimeout(liveTimer);
          openLive();
        }
      } else {
        set({ connection: 'offline', lastError: 'The browser reports no network.' });
        // An open WebSocket can outlive the network by a minute; start it again (with backoff).
        socket?.close();
      }
      void syncNow();
    },
    close() {
      closed = true;
      stopLive();
      clearTimeout(retryTimer);
    },
  };
}
