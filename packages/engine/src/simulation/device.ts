/**
 * Simulated devices. A device is one browser profile: one storage (IndexedDB: rows, outbox,
 * cursor, the saved clock) and one device id, shared by 1–3 engine hosts (the SharedWorker, a
 * dedicated-worker fallback, a tab's worker of another build). One host leads: it ticks, syncs
 * and holds the live connection; the others serve their pages' writes. Each host is built the
 * way the webapp's engine host builds itself (apps/webapp/src/lib/worker/engine-host.ts), and
 * syncs with the engine's sync round, through a network that delays, loses, duplicates and
 * reorders.
 */
import { createEngine, type Engine } from '../engine.ts';
import { EngineError, isEngineError } from '../errors.ts';
import type { Claims, Ids, Transport } from '../ports.ts';
import { createHlc, hostNodeId, type Hlc } from '../sync/hlc.ts';
import { applyLiveChanges, type PokeMessage } from '../sync/live-changes.ts';
import { syncRound, type CursorStore, type Outbox } from '../sync/sync-session.ts';
import { createMemoryStore, type MemoryStore } from '../testing/memory-store.ts';
import { createSimNode, type Ledger, type SimNode } from './ledger.ts';
import type { SimModelService } from './model.ts';
import type { Random } from './random.ts';
import { claimTtlMs, type LiveConnection, type RelayProcess, type SimServer } from './server.ts';
import { Crashed, type World } from './world.ts';

export const deviceTickMs = 60_000;
/** A leader whose heartbeat is this stale is taken over (leadership.ts). */
export const takeoverMs = 10_000;
const requestTimeoutMs = 15_000;

export interface NetworkFaults {
  /** Probability that a request or its answer is lost (the client times out). */
  loss: number;
  /** Probability that a request is delivered twice. */
  duplicate: number;
  /** Largest one-way delay in ms. */
  maxDelayMs: number;
  /** The relay cannot be reached from any device. */
  partitioned: boolean;
}

export interface SimDevice {
  readonly id: string;
  readonly store: MemoryStore;
  /** What the browser keeps besides rows: the saved clock, the pull cursor, the pushed outbox. */
  readonly meta: {
    hlc: string | undefined;
    cursor: string | undefined;
    pushedThrough: number;
    refusedSeqs: Set<number>;
  };
  /** Changes the relay refused, with the reason (shown to the person). */
  readonly refused: { id: string; reason: string }[];
  online: boolean;
  skewMs: number;
  modelVia: 'direct' | 'proxy';
  readonly hosts: SimHost[];
  leader: SimHost | undefined;
  lastError: string | undefined;
  now(): number;
}

export interface SimHost {
  readonly node: SimNode;
  readonly device: SimDevice;
  readonly engine: Engine;
  readonly hlc: Hlc;
  /** Iteration ids this host is planning now (from the claim to the write). */
  readonly planning: Set<string>;
  closed: boolean;
  /** Runs a piece of this host's work; a crash ends it quietly, anything unexpected is reported. */
  run(label: string, work: () => Promise<unknown>): void;
  /** As tick-loop.ts's `serial`: ticks and run-now of this host run one at a time. */
  serial<T>(work: () => Promise<T>): Promise<T>;
  kick(): void;
}

export interface Devices {
  readonly list: SimDevice[];
  network: NetworkFaults;
  /** Whether a claim of `iterationId` by `node` was granted by the relay (false: unclaimed). */
  claimedBy(node: string, iterationId: string): boolean;
  openHost(device: SimDevice): SimHost;
  closeHost(host: SimHost): void;
  crashHost(host: SimHost): void;
  freezeHost(host: SimHost, forMs: number): void;
  setOnline(device: SimDevice, online: boolean): void;
  /** Elects a leader on a device that has none (a host woke up). */
  elect(device: SimDevice): void;
  stopTicking(): void;
  /** Work that has not finished: syncs in flight or owed, planning. */
  busy(): boolean;
  /**
   * Hosts that planned a slot and crashed, froze or lost leadership meanwhile, or whose claim's
   * renewal was refused for their clock (per iteration).
   */
  readonly interrupted: Map<string, number>;
}

export function createDevices(options: {
  world: World;
  random: Random;
  ledger: Ledger;
  server: SimServer;
  models: SimModelService;
  ids: Ids;
  count: number;
}): Devices {
  const { world, random, ledger, server } = options;
  const claimed = new Map<string, boolean>();
  const interrupted = new Map<string, number>();
  let ticking = true;
  let hostCount = 0;
  /** Each host's own sync client (a new leader starts with a fresh one, as in the webapp). */
  const syncState = new Map<
    SimHost,
    {
      running: boolean;
      again: boolean;
      /** Pokes with changes, waiting to be applied between rounds (sync-client.ts). */
      pokes: PokeMessage[];
      retryMs: number;
      retryAt: number | undefined;
      waiting: (() => void)[];
    }
  >();

  const devices: Devices = {
    list: [],
    network: { loss: 0, duplicate: 0, maxDelayMs: 200, partitioned: false },
    claimedBy: (node, iterationId) => claimed.get(`${node} ${iterationId}`) ?? false,
    interrupted,
    openHost,
    closeHost,
    crashHost,
    freezeHost,
    setOnline,
    elect: (device) => elect(device),
    stopTicking() {
      ticking = false;
    },
    busy() {
      for (const device of devices.list) {
        const leader = device.leader;
        const state = leader && syncState.get(leader);
        if (state?.running || state?.retryAt !== undefined) return true;
        for (const host of device.hosts) if (host.planning.size > 0 && host.node.alive) return true;
      }
      return false;
    },
  };

  function delay(): number {
    return random.int(1, devices.network.maxDelayMs);
  }

  /** One request from a host to the relay, through the network. */
  async function request<T>(
    host: SimHost,
    label: string,
    handle: (process: RelayProcess) => T | Promise<T>,
  ): Promise<T> {
    const { device, node } = host;
    await node.gate();
    const unavailable = (why: string) =>
      new EngineError('unavailable', `the relay is unreachable (${why})`);
    if (!device.online) {
      await world.sleep(random.int(1, 50));
      await node.gate();
      throw unavailable('offline');
    }
    if (devices.network.partitioned) {
      await world.sleep(requestTimeoutMs);
      await node.gate();
      throw unavailable('partition');
    }
    await world.sleep(delay());
    if (random.chance(devices.network.loss)) {
      await world.sleep(requestTimeoutMs);
      await node.gate();
      throw unavailable('request lost');
    }
    const process = server.pickProcess();
    if (!process) {
      await world.sleep(delay());
      await node.gate();
      throw unavailable('502, no relay process');
    }
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await handle(process) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (random.chance(devices.network.duplicate)) {
      world.after(delay(), `${label} delivered again`, () => {
        const again = server.pickProcess();
        if (again)
          void Promise.resolve()
            .then(() => handle(again))
            .catch(() => undefined);
      });
    }
    await world.sleep(delay());
    if (random.chance(devices.network.loss)) {
      await world.sleep(requestTimeoutMs);
      await node.gate();
      throw unavailable('answer lost');
    }
    await node.gate();
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  function transportOf(host: SimHost): Transport {
    return {
      push: (body) =>
        request(host, 'push', (process) => server.push(process, structuredClone(body))),
      pull: (query) => request(host, 'pull', () => structuredClone(server.pull(query))),
    };
  }

  /**
   * As the webapp's relay-claims.ts: unreachable means planning without a claim; the holder is
   * the host (its clock's node id), never the whole device.
   */
  function claimsOf(host: SimHost): Claims {
    const holder = host.hlc.nodeId;
    return {
      async claim({ iterationId, ttlMs, now }) {
        try {
          const result = await request(host, 'claim', (process) =>
            server.claim(process, { iterationId, holder, ttlMs, now }),
          );
          claimed.set(`${host.node.name} ${iterationId}`, result.granted);
          // A renewal refused for this host's clock ends its conversation: the plan is dropped
          // (it could not be pushed), and the slot is planned again once the clock is back.
          if (!result.granted && result.refusal === 'clock' && host.planning.has(iterationId))
            interrupted.set(iterationId, (interrupted.get(iterationId) ?? 0) + 1);
          return result;
        } catch (error) {
          if (!isEngineError(error, 'unavailable')) throw error;
          claimed.set(`${host.node.name} ${iterationId}`, false);
          world.log(host.node.name, `claims ${iterationId} unclaimed (relay unreachable)`);
          return { granted: true, holder, expiresAt: host.device.now() + ttlMs, unclaimed: true };
        }
      },
      async release({ iterationId }) {
        await request(host, 'release', (process) =>
          server.release({ iterationId, holder, now: process.now() }),
        ).catch(() => undefined);
      },
    };
  }

  function outboxOf(device: SimDevice): Outbox {
    return {
      async read(limit) {
        const entries = [];
        for (
          let seq = device.meta.pushedThrough + 1;
          seq <= device.store.recorded.length && entries.length < limit;
          seq += 1
        )
          if (!device.meta.refusedSeqs.has(seq))
            entries.push({ seq, change: device.store.recorded[seq - 1]! });
        return entries;
      },
      async refuse(entry, reason) {
        device.meta.refusedSeqs.add(entry.seq);
        device.refused.push({ id: entry.change.id, reason });
        world.log(device.id, `the relay refused ${entry.change.id}: ${reason}`);
      },
      async drop(throughSeq) {
        device.meta.pushedThrough = Math.max(device.meta.pushedThrough, throughSeq);
      },
    };
  }

  function cursorOf(device: SimDevice): CursorStore {
    return {
      get: async () => device.meta.cursor,
      set: async (cursor) => {
        device.meta.cursor = cursor;
      },
    };
  }

  /**
   * A poke reached the device's live connection: its changes are applied between rounds when
   * they start at the device's cursor (sync-client.ts); a plain poke asks for a round.
   */
  function receivePoke(device: SimDevice, poke: PokeMessage): void {
    if (poke.changes) syncNow(device, undefined, poke);
    else syncNow(device);
  }

  /**
   * The sync client of a device (sync-client.ts): rounds on demand, retried with backoff, and
   * pokes' changes applied one at a time with them. `settled` is called once the round asked
   * for has ended (or at once when none can run).
   */
  function syncNow(device: SimDevice, settled?: () => void, poke?: PokeMessage): void {
    const host = device.leader;
    if (!host || !host.node.alive || host.closed) {
      settled?.();
      return;
    }
    let state = syncState.get(host);
    if (!state)
      syncState.set(
        host,
        (state = {
          running: false,
          again: false,
          pokes: [],
          retryMs: 1_000,
          retryAt: undefined,
          waiting: [],
        }),
      );
    if (settled) state.waiting.push(settled);
    if (poke) state.pokes.push(poke);
    else state.again = true;
    if (state.running) return;
    state.running = true;
    if (!poke) state.retryAt = undefined;
    const current = state;
    host.run('sync', async () => {
      try {
        while (
          (current.again || current.pokes.length > 0) &&
          host.node.alive &&
          device.leader === host
        ) {
          if (!current.again) {
            const next = current.pokes.shift()!;
            const outcome = await applyLiveChanges({
              poke: next,
              cursor: cursorOf(device),
              apply: (changes) => host.engine.applyRemote(changes),
            });
            if (outcome.outcome === 'applied')
              world.log(host.node.name, `applied ${next.changes?.length} changes from a poke`);
            // A gap before the changes, or what the merge wrote in turn: a round.
            if (
              outcome.outcome === 'pull' ||
              (outcome.outcome === 'applied' && (await outboxOf(device).read(1)).length > 0)
            )
              current.again = true;
            continue;
          }
          current.again = false;
          // A round pulls whatever the pokes that came before it carried.
          current.pokes.length = 0;
          try {
            const report = await syncRound({
              transport: transportOf(host),
              outbox: outboxOf(device),
              cursor: cursorOf(device),
              deviceId: device.id,
              apply: (changes) => host.engine.applyRemote(changes),
            });
            current.retryMs = 1_000;
            device.lastError =
              report.refused.length > 0
                ? `refused ${report.refused.length} pulled changes`
                : undefined;
            if (report.refused.length > 0)
              world.log(
                host.node.name,
                `pull refused ${JSON.stringify(report.refused.map((entry) => entry.message))}`,
              );
          } catch (error) {
            if (error instanceof Crashed) throw error;
            device.lastError = (error as Error).message;
            world.log(host.node.name, `sync failed: ${(error as Error).message}`);
            const wait = current.retryMs;
            current.retryMs = Math.min(30_000, current.retryMs * 2);
            current.retryAt = world.now + wait;
            world.after(wait, 'sync retry', () => {
              if (current.retryAt !== undefined && current.retryAt <= world.now) {
                current.retryAt = undefined;
                syncNow(device);
              }
            });
            return;
          }
        }
      } finally {
        current.running = false;
        saveClock(host);
        for (const waiter of current.waiting.splice(0)) waiter();
      }
    });
  }

  function saveClock(host: SimHost): void {
    const stamp = host.hlc.last();
    const meta = host.device.meta;
    if (meta.hlc === undefined || meta.hlc < stamp) meta.hlc = stamp;
  }

  /** The live connection of a leading host (presence in, pokes out). */
  function connect(host: SimHost): void {
    const { device } = host;
    if (
      !host.node.alive ||
      host.closed ||
      device.leader !== host ||
      !device.online ||
      devices.network.partitioned
    )
      return;
    if ([...server.connections].some((connection) => connection.hostName === host.node.name))
      return;
    world.after(delay(), 'live connects', () => {
      const process = server.pickProcess();
      if (
        !process ||
        !host.node.alive ||
        host.closed ||
        device.leader !== host ||
        !device.online ||
        devices.network.partitioned
      ) {
        world.after(random.int(1_000, 10_000), 'live retry', () => connect(host));
        return;
      }
      const connection: LiveConnection = {
        hostName: host.node.name,
        deviceId: device.id,
        holder: host.hlc.nodeId,
        instance: process,
        poke: (message) => {
          if (server.connections.has(connection)) receivePoke(device, message);
        },
      };
      server.connections.add(connection);
      world.log(host.node.name, `live connected to ${process.node.name}`);
      syncNow(device);
    });
  }

  /** The relay notices a connection is gone: at once on a clean close, within a minute otherwise. */
  function disconnect(host: SimHost, clean: boolean): void {
    for (const connection of [...server.connections]) {
      if (connection.hostName !== host.node.name) continue;
      const drop = () => {
        if (!server.connections.delete(connection)) return;
        world.log(host.node.name, 'live connection gone');
        server.connectionEnded(connection);
      };
      if (clean) drop();
      else world.after(random.int(1_000, 60_000), 'live timeout', drop);
    }
  }

  /** The tick loop of a leading host (tick-loop.ts): every `deviceTickMs`, one at a time. */
  function startTicking(host: SimHost, abort: { controller: AbortController | undefined }): void {
    let inFlight = false;
    const loop = () => {
      if (!ticking || !host.node.alive || host.closed || host.device.leader !== host) return;
      // As tick-loop.ts: ticks run one at a time, and a frozen worker's timer does not pile up.
      if (!inFlight) {
        inFlight = true;
        host.run('tick', async () => {
          try {
            await host.node.gate();
            if (host.device.leader !== host) return;
            const controller = new AbortController();
            abort.controller = controller;
            const report = await host.serial(() =>
              host.engine.tick({ now: host.device.now(), signal: controller.signal }),
            );
            for (const error of report.errors)
              world.log(host.node.name, `tick error in ${error.missionId}: ${error.message}`);
            if (
              report.planned.length +
                report.failed.length +
                report.skipped.length +
                report.paused.length >
              0
            ) {
              world.log(
                host.node.name,
                `tick planned ${report.planned.length}, failed ${report.failed.length}, skipped ${report.skipped.length}, paused ${report.paused.length}`,
              );
              syncNow(host.device);
            }
          } finally {
            inFlight = false;
          }
        });
      }
      world.after(deviceTickMs, 'device tick', loop);
    };
    loop();
  }

  const aborts = new Map<SimHost, { controller: AbortController | undefined }>();

  function lead(host: SimHost): void {
    const { device } = host;
    device.leader = host;
    world.log(host.node.name, 'leads');
    const abort = { controller: undefined as AbortController | undefined };
    aborts.set(host, abort);
    connect(host);
    // As engine-host.ts: a new leader first pulls up to the relay's cursor (one round, at most
    // 15 s), then ticks.
    let started = false;
    const begin = () => {
      if (started) return;
      started = true;
      startTicking(host, abort);
    };
    syncNow(device, begin);
    world.after(15_000, 'first pull waited long enough', begin);
  }

  /** A host stops leading: its tick in flight is aborted (it writes nothing). */
  function demote(host: SimHost, clean: boolean): void {
    if (host.device.leader !== host) return;
    host.device.leader = undefined;
    aborts.get(host)?.controller?.abort();
    disconnect(host, clean);
  }

  function elect(device: SimDevice): void {
    if (device.leader) return;
    const next = device.hosts.find(
      (host) => host.node.alive && !host.closed && host.node.frozenUntil <= world.now,
    );
    if (next) lead(next);
  }

  function noteInterrupted(host: SimHost): void {
    for (const iterationId of host.planning)
      interrupted.set(iterationId, (interrupted.get(iterationId) ?? 0) + 1);
  }

  function openHost(device: SimDevice): SimHost {
    hostCount += 1;
    const node = createSimNode(world, `${device.id}.h${hostCount}`);
    // As engine-host.ts: the host's clock continues from the stamp the device saved, with a
    // node id of its own.
    const hlc = createHlc({
      nodeId: hostNodeId({ deviceId: device.id, hostId: node.name }),
      ...(device.meta.hlc ? { last: device.meta.hlc } : {}),
    });
    const planning = new Set<string>();
    let queue: Promise<unknown> = Promise.resolve();
    const host: SimHost = {
      node,
      device,
      hlc,
      planning,
      closed: false,
      engine: undefined as unknown as Engine,
      run(label, work) {
        void work()
          .catch((error: unknown) => {
            if (error instanceof Crashed) return;
            if (
              isEngineError(error) &&
              ['conflict', 'not_found', 'invalid', 'budget', 'unavailable', 'clock'].includes(
                error.kind,
              )
            ) {
              world.log(node.name, `${label}: ${error.kind}: ${error.message}`);
              return;
            }
            ledger.violate(
              'no crash',
              `${node.name} ${label} threw: ${(error as Error).stack ?? String(error)}`,
            );
          })
          .finally(() => {
            if (node.alive) saveClock(host);
          });
      },
      kick() {
        syncNow(device);
      },
      serial(work) {
        const next = queue.then(work, work);
        queue = next.catch(() => undefined);
        return next;
      },
    };
    const model = options.models.endpoint({
      node: node.name,
      reachable: () =>
        device.modelVia === 'direct' ||
        (device.online && !devices.network.partitioned && server.pickProcess() !== undefined),
      claimed: (iterationId) => devices.claimedBy(node.name, iterationId),
      waitAlive: () => node.gate(),
      timeoutMs: 120_000,
    });
    (host as { engine: Engine }).engine = createEngine({
      hlc,
      store: ledger.observe({ inner: device.store, node, deviceId: device.id }),
      clock: { now: () => device.now() },
      ids: options.ids,
      model,
      claims: claimsOf(host),
      nodeId: device.id,
      runner: { kind: 'device', deviceId: device.id },
      claimTtlMs,
      onProgress: (progress) => {
        if (progress.phase === 'planning') planning.add(progress.iterationId);
        if (progress.phase === 'done') planning.delete(progress.iterationId);
      },
    });
    device.hosts.push(host);
    world.log(node.name, 'opens');
    elect(device);
    return host;
  }

  function closeHost(host: SimHost): void {
    if (host.closed || !host.node.alive) return;
    host.closed = true;
    // Closing a tab ends its worker: like a crash for the work in flight, but the lock and the
    // live connection are let go at once.
    noteInterrupted(host);
    host.node.alive = false;
    world.log(host.node.name, 'closes');
    demote(host, true);
    elect(host.device);
  }

  function crashHost(host: SimHost): void {
    if (!host.node.alive) return;
    noteInterrupted(host);
    host.node.alive = false;
    world.log(host.node.name, 'CRASH');
    demote(host, false);
    // The Web Lock of a dead worker is released at once.
    elect(host.device);
  }

  function freezeHost(host: SimHost, forMs: number): void {
    if (!host.node.alive) return;
    host.node.frozenUntil = Math.max(host.node.frozenUntil, world.now + forMs);
    world.log(host.node.name, `freezes for ${forMs} ms`);
    // A device whose hosts were all frozen or gone gets its leader when one wakes.
    world.at(host.node.frozenUntil, 'thaw', () => elect(host.device));
    if (host.device.leader === host && forMs > takeoverMs) {
      world.after(takeoverMs, 'takeover', () => {
        if (host.device.leader !== host || host.node.frozenUntil <= world.now) return;
        const next = host.device.hosts.find(
          (other) =>
            other !== host &&
            other.node.alive &&
            !other.closed &&
            other.node.frozenUntil <= world.now,
        );
        if (!next) return;
        world.log(next.node.name, `takes over from frozen ${host.node.name}`);
        noteInterrupted(host);
        // The frozen host learns it lost the lock when it wakes: its tick is aborted then.
        world.at(host.node.frozenUntil - 1, 'wakes demoted', () =>
          aborts.get(host)?.controller?.abort(),
        );
        host.device.leader = undefined;
        disconnect(host, false);
        lead(next);
      });
    }
  }

  function setOnline(device: SimDevice, online: boolean): void {
    if (device.online === online) return;
    device.online = online;
    world.log(device.id, online ? 'online' : 'offline');
    const leader = device.leader;
    if (!leader) return;
    if (online) {
      connect(leader);
      syncNow(device);
    } else disconnect(leader, false);
  }

  for (let index = 0; index < options.count; index += 1) {
    const id = `dev_${String.fromCharCode(97 + index)}`;
    const device: SimDevice = {
      id,
      store: createMemoryStore(),
      meta: { hlc: undefined, cursor: undefined, pushedThrough: 0, refusedSeqs: new Set() },
      refused: [],
      online: true,
      skewMs: random.int(-180_000, 180_000),
      modelVia: random.chance(0.5) ? 'direct' : 'proxy',
      hosts: [],
      leader: undefined,
      lastError: undefined,
      now: () => world.now + device.skewMs,
    };
    devices.list.push(device);
  }
  // Keep connections fresh when the partition heals or a relay process comes back.
  const reconnect = () => {
    for (const device of devices.list) if (device.leader) connect(device.leader);
    world.after(15_000, 'reconnect', reconnect);
  };
  world.after(15_000, 'reconnect', reconnect);
  return devices;
}
