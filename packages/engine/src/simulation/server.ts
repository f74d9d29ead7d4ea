/**
 * The simulated relay: one server state (the database: merged rows, the per-user change log,
 * claims, live connections) shared by 1–2 relay processes. The request handlers apply the
 * relay's own rules, imported from the engine (the wire schemas, the push stamp check, the
 * claim rule, plans-here); each process runs the engine's tick as the relay runner does.
 */
import { createEngine } from '../engine.ts';
import { EngineError, invalidFromZod } from '../errors.ts';
import type { ClaimResult, Claims, Ids, LanguageModel } from '../ports.ts';
import {
  claimAnswer,
  decideClaimFromStore,
  missionIdOfIteration,
  type Lease,
} from '../runner/claim-rule.ts';
import { plansHere } from '../runner/plans-here.ts';
import type { Change } from '../sync/change.ts';
import { createHlc, hostNodeId, type Hlc } from '../sync/hlc.ts';
import { pokeAfterAppend, type PokeMessage } from '../sync/live-changes.ts';
import { mergeChange } from '../sync/merge.ts';
import { PushRequestSchema } from '../sync/protocol.ts';
import { pushStampProblem } from '../sync/push-rules.ts';
import { createMemoryStore, type MemoryStore } from '../testing/memory-store.ts';
import { readRows } from '../model/read-row.ts';
import { createSimNode, type Ledger, type SimNode } from './ledger.ts';
import type { SimModelService } from './model.ts';
import type { Random } from './random.ts';
import { Crashed, type World } from './world.ts';

export const claimTtlMs = 5 * 60_000;
export const relayGraceMs = 120_000;
export const relayTickMs = 60_000;
/** As the relay's CLAIM_RELEASE_GRACE_MS: a host gone this long loses its claims. */
export const claimReleaseGraceMs = 10_000;

/** A live connection of one engine host. */
export interface LiveConnection {
  hostName: string;
  deviceId: string;
  /** The host's claim holder, as its `hello` says. */
  holder: string;
  instance: RelayProcess;
  /** The relay's live poke (`pokeAfterAppend`: with a small push's changes). */
  poke: (message: PokeMessage) => void;
}

export interface RelayProcess {
  readonly instanceId: string;
  node: SimNode;
  /** The claim holder of this process (instance id + a suffix per incarnation). */
  holder: string;
  skewMs: number;
  now(): number;
  planning: Set<string>;
  /** The process's clock (relay-runner.ts: one per process, node id of its own). */
  hlc: Hlc;
  /** Ticks now, after the tick in flight (relay-runner.ts `tick()`); set once it runs. */
  wake?: () => void;
}

export interface SimServer {
  readonly store: MemoryStore;
  readonly seen: Set<string>;
  readonly claims: Map<string, Lease>;
  readonly connections: Set<LiveConnection>;
  readonly processes: RelayProcess[];
  /** Ids of plan changes the relay turned away at least once for a stamp ahead of its clock. */
  readonly heldPlans: ReadonlySet<string>;
  /** When each change pushed by a device reached the relay (true time). */
  readonly arrivals: ReadonlyMap<string, number>;
  /** Claims released because their holder's live connection ended (true time). */
  readonly releases: ReadonlyArray<{ hostName: string; iterationId: string; at: number }>;
  /** The relay noticed a live connection end (close or idle timeout). */
  connectionEnded(connection: LiveConnection): void;
  /** A live process to take a request (a load balancer's pick), or undefined when none is up. */
  pickProcess(): RelayProcess | undefined;
  push(
    process: RelayProcess,
    body: unknown,
  ): Promise<{ accepted: number; duplicates: number; cursor: string; since?: string }>;
  pull(request: { since: string | undefined; limit: number }): {
    changes: Change[];
    cursor: string;
    more: boolean;
  };
  claim(
    process: RelayProcess,
    request: { iterationId: string; holder: string; ttlMs: number; now?: number | undefined },
  ): Promise<ClaimResult>;
  /** Ends a live lease at `now` (the relay's process clock); it stays, with its grants. */
  release(request: { iterationId: string; holder: string; now: number }): void;
  covered(): boolean;
  /** Crashes a process (memory lost, claims stay until they expire) and restarts it later. */
  crash(process: RelayProcess, restartAfterMs: number): void;
  /** Starts ticking (every process); `stop` ends it. */
  startRunners(): void;
  stopRunners(): void;
  /** Slots being planned right now by relay processes. */
  planningNow(): number;
}

export function createSimServer(options: {
  world: World;
  random: Random;
  ledger: Ledger;
  models: SimModelService;
  ids: Ids;
  processes: number;
  /** Missions planned at once per process (the relay's model concurrency and chunk size). */
  concurrency: number;
  /** See `Scenario.drawSkippedPokes`. */
  drawSkippedPokes: boolean;
}): SimServer {
  const { world, random, ledger } = options;
  const store = createMemoryStore();
  const seen = new Set<string>();
  const claims = new Map<string, Lease>();
  const connections = new Set<LiveConnection>();
  const processes: RelayProcess[] = [];
  const heldPlans = new Set<string>();
  const arrivals = new Map<string, number>();
  const releases: { hostName: string; iterationId: string; at: number }[] = [];
  let running = false;
  let incarnations = 0;

  function startProcess(instanceId: string, skewMs: number): RelayProcess {
    incarnations += 1;
    const process: RelayProcess = {
      instanceId,
      node: createSimNode(world, `${instanceId}.${incarnations}`),
      holder: `${instanceId}-p${incarnations}`,
      skewMs,
      now: () => world.now + process.skewMs,
      planning: new Set(),
      hlc: createHlc({
        nodeId: hostNodeId({ deviceId: instanceId, hostId: `${instanceId}-p${incarnations}` }),
      }),
    };
    return process;
  }

  for (let index = 0; index < options.processes; index += 1)
    // Relay processes are servers kept in time (NTP): within seconds of each other. Leases are
    // judged by the clock of the process that takes the request, so processes minutes apart
    // would grant a lease another still holds. Devices skew by minutes (device.ts).
    processes.push(startProcess(`relay_${index + 1}`, random.int(-2_000, 2_000)));

  function processClaims(process: RelayProcess): Claims {
    return {
      async claim(request) {
        await process.node.gate();
        const result = await server.claim(process, { ...request, holder: process.holder });
        if (result.granted) process.planning.add(request.iterationId);
        return result;
      },
      async release(request) {
        await process.node.gate();
        server.release({
          iterationId: request.iterationId,
          holder: process.holder,
          now: process.now(),
        });
      },
    };
  }

  /** One tick of a relay process: as the relay runner, in chunks of `concurrency` missions. */
  async function tickProcess(process: RelayProcess, model: LanguageModel): Promise<void> {
    const now = process.now();
    const covered = server.covered();
    const missions = readRows(
      'missions',
      await store.list('missions', { field: 'state', equals: 'active' }),
    )
      // The due index's pre-filter; plansHere decides in the tick, with the mission's `since`.
      .filter((mission) => mission.schedule.kind !== 'manual' && mission.runOn !== 'device');
    const chunks: Set<string>[] = [];
    for (let index = 0; index < missions.length; index += options.concurrency)
      chunks.push(
        new Set(missions.slice(index, index + options.concurrency).map((mission) => mission.id)),
      );
    await Promise.all(
      chunks.map(async (chunk) => {
        // As the relay runner: one engine per chunk, sharing the process's clock.
        const engine = createEngine({
          store: ledger.observe({ inner: store, node: process.node, deviceId: undefined }),
          clock: { now: process.now },
          ids: options.ids,
          model,
          claims: processClaims(process),
          nodeId: process.instanceId,
          runner: { kind: 'relay', instanceId: process.instanceId },
          hlc: process.hlc,
          claimTtlMs,
          onProgress: (progress) => {
            if (progress.phase === 'done') process.planning.delete(progress.iterationId);
          },
        });
        const report = await engine.tick({
          now,
          missionFilter: (mission, { since }) =>
            chunk.has(mission.id) &&
            plansHere({ mission, since, covered, now, graceMs: relayGraceMs }),
        });
        if (report.planned.length + report.failed.length + report.skipped.length > 0) {
          world.log(
            process.node.name,
            `tick planned ${report.planned.length}, failed ${report.failed.length}, skipped ${report.skipped.length}`,
          );
          pokeAll();
        }
      }),
    );
  }

  /**
   * Pokes every live connection, each after its own delay (so pokes may arrive reordered), but
   * not the device whose push made the commit (`pushedBy`), as the relay's live hub. Its delay
   * is drawn all the same (`drawSkippedPokes`), so that the histories of pinned seeds stay what
   * they were.
   */
  function pokeAll(
    message: PokeMessage = { type: 'poke', cursor: String(store.recorded.length) },
    pushedBy?: string,
  ): void {
    for (const connection of connections) {
      const poked = connection.deviceId !== pushedBy;
      const delay = poked || options.drawSkippedPokes ? random.int(5, 300) : 0;
      if (poked) world.after(delay, 'poke', () => connection.poke(message));
    }
  }

  function runLoop(process: RelayProcess): void {
    const model = options.models.endpoint({
      node: process.node.name,
      reachable: () => true,
      claimed: () => true,
      waitAlive: () => process.node.gate(),
      timeoutMs: 120_000,
    });
    const node = process.node;
    // As relay-runner.ts: ticks run one after another; `wake` asks for one now (after the tick
    // in flight).
    let inFlight: Promise<void> = Promise.resolve();
    const tickOnce = () => {
      inFlight = inFlight.then(async () => {
        if (!running || !node.alive) return;
        try {
          await node.gate();
          await tickProcess(process, model);
        } catch (error) {
          if (!(error instanceof Crashed)) throw error;
        }
      });
      return inFlight;
    };
    process.wake = () => void tickOnce().catch(fail);
    const loop = async () => {
      if (!running || !node.alive) return;
      await tickOnce();
      if (running && node.alive)
        world.after(relayTickMs, `${node.name} tick`, () => void loop().catch(fail));
    };
    world.after(random.int(0, relayTickMs), `${node.name} tick`, () => void loop().catch(fail));
  }

  function fail(error: unknown): void {
    ledger.violate('no crash', `a relay process threw: ${(error as Error).stack ?? String(error)}`);
  }

  const server: SimServer = {
    store,
    seen,
    claims,
    connections,
    processes,
    heldPlans,
    arrivals,
    releases,
    connectionEnded(connection) {
      // As live-hub.ts: after the grace, unless the holder said hello again on this process,
      // its live claims granted before the connection ended are released and the process
      // ticks at once. A process that crashed
      // meanwhile forgot the connection (its memory is gone).
      const process = connection.instance;
      const endedAt = process.now();
      world.after(claimReleaseGraceMs, 'claims of a gone host', () => {
        if (!process.node.alive || !processes.includes(process)) return;
        if (
          [...connections].some(
            (other) => other.instance === process && other.holder === connection.holder,
          )
        )
          return;
        const now = process.now();
        const released: string[] = [];
        for (const [iterationId, lease] of claims)
          if (
            lease.holder === connection.holder &&
            lease.expiresAt > now &&
            // A lease granted after the connection ended: the holder was heard from since.
            (lease.grantedAt === undefined || lease.grantedAt <= endedAt)
          ) {
            claims.set(iterationId, { ...lease, expiresAt: now });
            releases.push({ hostName: connection.hostName, iterationId, at: world.now });
            released.push(iterationId);
          }
        if (released.length === 0) return;
        world.log(
          process.node.name,
          `released ${released.join(', ')}: ${connection.holder} went away`,
        );
        process.wake?.();
      });
    },
    pickProcess() {
      const up = processes.filter((process) => process.node.alive);
      return up.length === 0 ? undefined : random.pick(up);
    },
    async push(process, body) {
      const parsed = PushRequestSchema.safeParse(body);
      if (!parsed.success) throw invalidFromZod(parsed.error);
      const changes = parsed.data.changes as Change[];
      const drift = pushStampProblem(changes, process.now());
      if (drift) {
        // Plans that wait for the relay's clock never reach the others in time: like a plan made
        // cut off from the relay, the slot may be planned again meanwhile (invariant 2).
        for (const change of changes)
          if (
            change.table === 'iterations' &&
            'status' in change.fields &&
            pushStampProblem([change], process.now())
          )
            heldPlans.add(change.id);
        throw drift;
      }
      const fresh = changes.filter(
        (change, index) =>
          !seen.has(change.id) && changes.findIndex((other) => other.id === change.id) === index,
      );
      // The log's length before this commit, read inside the (serialised) transaction: the
      // fresh changes are exactly those after it, as the relay's numbering under the user's lock.
      let since = 0;
      await store.transaction(async (writer) => {
        since = store.recorded.length;
        for (const change of fresh)
          await writer.put([mergeChange(await writer.get(change.table, change.rowId), change)]);
        await writer.record(fresh);
      });
      for (const change of fresh) {
        seen.add(change.id);
        arrivals.set(change.id, world.now);
      }
      if (fresh.length > 0)
        pokeAll(
          pokeAfterAppend({
            since: String(since),
            cursor: String(since + fresh.length),
            changes: fresh,
          }),
          parsed.data.deviceId,
        );
      // As the relay answers: the cursor after this push's last change, and with every change
      // new, the cursor before its first (the pushing device may move past them, decision 0017).
      return {
        accepted: fresh.length,
        duplicates: changes.length - fresh.length,
        cursor: String(fresh.length > 0 ? since + fresh.length : store.recorded.length),
        ...(fresh.length > 0 && fresh.length === changes.length ? { since: String(since) } : {}),
      };
    },
    pull({ since, limit }) {
      const from = since === undefined ? 0 : Number(since);
      const changes = store.recorded.slice(from, from + limit);
      const cursor = from + changes.length;
      return { changes, cursor: String(cursor), more: cursor < store.recorded.length };
    },
    async claim(process, request) {
      const missionId = missionIdOfIteration(request.iterationId);
      // As the relay does: a lease stays a day after it ends, with its grants (sql-claims.ts).
      for (const [iterationId, lease] of claims)
        if (lease.expiresAt < process.now() - 24 * 3_600_000) claims.delete(iterationId);
      const decision = await decideClaimFromStore({
        reader: store,
        iterationId: request.iterationId,
        holder: request.holder,
        ttlMs: request.ttlMs,
        requesterNow: request.now,
        now: process.now(),
        current: claims.get(request.iterationId),
        missionLeases: [...claims]
          .filter(([iterationId]) => missionIdOfIteration(iterationId) === missionId)
          .map(([iterationId, lease]) => ({ iterationId, lease })),
      });
      if (decision.granted) claims.set(request.iterationId, decision.lease);
      world.log(
        process.node.name,
        `claim ${request.iterationId} by ${request.holder}: ${decision.granted ? 'granted' : decision.reason}`,
      );
      return claimAnswer(decision);
    },
    release({ iterationId, holder, now }) {
      const lease = claims.get(iterationId);
      if (lease?.holder === holder && lease.expiresAt > now)
        claims.set(iterationId, { ...lease, expiresAt: now });
    },
    covered() {
      return connections.size > 0;
    },
    crash(process, restartAfterMs) {
      if (!process.node.alive) return;
      process.node.alive = false;
      world.log(process.node.name, 'CRASH');
      for (const connection of [...connections])
        if (connection.instance === process) connections.delete(connection);
      world.after(restartAfterMs, 'relay restart', () => {
        const index = processes.indexOf(process);
        const next = startProcess(process.instanceId, process.skewMs);
        processes[index] = next;
        world.log(next.node.name, 'starts');
        if (running) runLoop(next);
      });
    },
    startRunners() {
      running = true;
      for (const process of processes) if (process.node.alive) runLoop(process);
    },
    stopRunners() {
      running = false;
    },
    planningNow() {
      return processes.reduce(
        (sum, process) => sum + (process.node.alive ? process.planning.size : 0),
        0,
      );
    },
  };
  return server;
}

export { EngineError };
