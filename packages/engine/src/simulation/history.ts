/**
 * Runs one scenario: builds the replicas, plays the script, heals every fault, lets sync go
 * quiet, then checks every invariant. Returns the violations and the trace.
 */
import { isEngineError } from '../errors.ts';
import type { Actor } from '../model/actor.ts';
import type { RowOf } from '../model/read-row.ts';
import { hlcWallMs, maxDriftMs } from '../sync/hlc.ts';
import { createSequentialIds } from '../testing/fixed-clock.ts';
import { createDevices, type Devices, type SimHost } from './device.ts';
import { checkInvariants } from './invariants.ts';
import { createLedger, type Violation } from './ledger.ts';
import { createSimModelService, healthyModel } from './model.ts';
import { createRandom } from './random.ts';
import type { Action, PersonAction, Scenario } from './scenario.ts';
import { createSimServer, type SimServer } from './server.ts';
import { createWorld, type World } from './world.ts';

export interface HistoryResult {
  seed: number;
  violations: Violation[];
  trace: string[];
  stats: { events: number; conversations: number; changes: number; iterations: number };
}

const minute = 60_000;
/** After the faults heal: long enough for backoffs, takeovers and retries to play out. */
const healMs = 20 * minute;

export async function runHistory(scenario: Scenario): Promise<HistoryResult> {
  const world = createWorld({ start: scenario.start });
  const random = createRandom(scenario.seed ^ 0x5eed).fork();
  const ledger = createLedger(world);
  const models = createSimModelService({ world, random: random.fork() });
  const ids = createSequentialIds('S');
  const server = createSimServer({
    world,
    random: random.fork(),
    ledger,
    models,
    ids,
    processes: scenario.relayProcesses,
    concurrency: scenario.relayConcurrency,
    drawSkippedPokes: scenario.drawSkippedPokes !== false,
  });
  const devices = createDevices({
    world,
    random: random.fork(),
    ledger,
    server,
    models,
    ids,
    count: scenario.devices,
  });
  Object.assign(devices.network, scenario.network);
  const relayInterrupted = new Map<string, number>();
  let missionCount = 0;
  const people = random.fork();

  for (const device of devices.list)
    for (let index = 0; index < scenario.hostsPerDevice; index += 1) devices.openHost(device);
  server.startRunners();

  for (const event of scenario.events)
    world.at(event.at, event.action.kind, () => play(event.action));

  function play(action: Action): void {
    switch (action.kind) {
      case 'open':
        devices.openHost(devices.list[action.device]!);
        return;
      case 'close':
      case 'crash':
      case 'freeze': {
        const hosts = devices.list[action.device]!.hosts.filter((host) => host.node.alive);
        if (hosts.length === 0) return;
        const host = people.pick(hosts);
        if (action.kind === 'freeze') devices.freezeHost(host, action.forMs);
        else if (action.kind === 'close') devices.closeHost(host);
        else devices.crashHost(host);
        return;
      }
      case 'offline': {
        const device = devices.list[action.device]!;
        devices.setOnline(device, false);
        world.after(action.forMs, 'online again', () => devices.setOnline(device, true));
        return;
      }
      case 'partition':
        devices.network.partitioned = true;
        world.log('network', 'partition');
        world.after(action.forMs, 'partition heals', () => {
          devices.network.partitioned = false;
          world.log('network', 'partition heals');
        });
        return;
      case 'skew':
        devices.list[action.device]!.skewMs = action.skewMs;
        world.log(devices.list[action.device]!.id, `clock skew ${action.skewMs} ms`);
        return;
      case 'relay_crash': {
        const process = server.processes[action.process];
        if (!process || !process.node.alive) return;
        for (const iterationId of process.planning)
          relayInterrupted.set(iterationId, (relayInterrupted.get(iterationId) ?? 0) + 1);
        server.crash(process, action.downMs);
        return;
      }
      case 'model_trouble':
        models.faults = action.faults;
        world.log('model', `trouble ${JSON.stringify(action.faults)}`);
        world.after(action.forMs, 'model healthy', () => {
          models.faults = { ...healthyModel };
        });
        return;
      case 'person':
        person(action.device, action.action, action.pick);
        return;
    }
  }

  function hostFor(deviceIndex: number): SimHost {
    const device = devices.list[deviceIndex]!;
    const alive = device.hosts.filter((host) => host.node.alive && !host.closed);
    return alive.length > 0 ? people.pick(alive) : devices.openHost(device);
  }

  function person(deviceIndex: number, action: PersonAction, pick: number): void {
    const host = hostFor(deviceIndex);
    const { engine } = host;
    const actor: Actor = { kind: 'user', deviceId: host.device.id };
    const choose = <T>(items: readonly T[]): T | undefined =>
      items.length === 0 ? undefined : items[pick % items.length];
    const missions = () => engine.rows('missions');
    host.run(`person ${action.kind}`, async () => {
      world.log(host.node.name, `person: ${action.kind}`);
      switch (action.kind) {
        case 'create_mission': {
          const id = `m_${++missionCount}`;
          await engine.createMission({
            id,
            actor,
            draft: { ...action.draft, objective: `Keep things moving [mission ${id}]` },
          });
          break;
        }
        case 'edit_schedule': {
          const mission = choose(await missions());
          if (mission)
            await engine.updateMission({
              id: mission.id,
              actor,
              patch: {
                schedule: action.schedule,
                ...(action.catchUp ? { catchUp: action.catchUp } : {}),
              },
            });
          break;
        }
        case 'pause':
        case 'resume':
        case 'archive': {
          const mission = choose(await missions());
          const state =
            action.kind === 'pause' ? 'paused' : action.kind === 'resume' ? 'active' : 'archived';
          if (mission) await engine.updateMission({ id: mission.id, actor, patch: { state } });
          break;
        }
        case 'run_now': {
          const mission = choose(
            (await missions()).filter((row) => row.state !== 'archived' && row.state !== 'done'),
          );
          if (mission) await host.serial(() => engine.runNow({ missionId: mission.id }));
          break;
        }
        case 'approve':
        case 'reject':
        case 'edit_approve': {
          const proposal = choose(
            (await engine.rows('proposals', {
              field: 'status',
              equals: 'pending',
            })) as RowOf<'proposals'>[],
          );
          if (!proposal) break;
          const editedParams = action.kind === 'edit_approve' ? editOf(proposal, pick) : undefined;
          await engine.decide({
            proposalId: proposal.id,
            verdict: action.kind === 'reject' ? 'rejected' : 'approved',
            actor,
            ...(editedParams ? { editedParams } : {}),
            ...(action.kind === 'reject' ? { feedback: 'Not now.' } : {}),
          });
          break;
        }
        case 'revert': {
          const executed = (await engine.rows('proposals', {
            field: 'status',
            equals: 'executed',
          })) as RowOf<'proposals'>[];
          const proposal = choose(executed);
          if (proposal) await engine.revertIteration({ iterationId: proposal.iterationId, actor });
          break;
        }
        case 'create_task':
        case 'create_note': {
          const table = action.kind === 'create_task' ? 'tasks' : 'notes';
          const fields =
            table === 'tasks'
              ? { title: `Mine ${pick % 100}` }
              : { title: `My note ${pick % 100}`, body: 'Mine.' };
          const id = await engine.saveRow({ table, fields, actor });
          models.knownRows[table].push(id);
          break;
        }
        case 'edit_task':
        case 'edit_note':
        case 'delete_task':
        case 'delete_note': {
          const table = action.kind.endsWith('task') ? 'tasks' : 'notes';
          const row = choose(await engine.rows(table));
          if (!row) break;
          if (action.kind.startsWith('delete'))
            await engine.deleteRow({ table, id: row.id, actor });
          else
            await engine.saveRow({
              table,
              id: row.id,
              fields:
                table === 'tasks'
                  ? { title: `Edited ${pick % 1000}` }
                  : { body: `Edited ${pick % 1000}` },
              actor,
            });
          break;
        }
      }
      host.kick();
    });
  }

  // Every created row becomes known to the model (it reads them from its prompt).
  const learn = () => {
    for (const entry of ledger.entries.values()) {
      const { change } = entry;
      if (
        (change.table === 'tasks' || change.table === 'notes') &&
        !models.knownRows[change.table].includes(change.rowId)
      )
        models.knownRows[change.table].push(change.rowId);
    }
    world.after(5 * minute, 'learn', learn);
  };
  world.after(5 * minute, 'learn', learn);

  const activeEnd = scenario.start + scenario.activeMs;
  await world.run(activeEnd);
  heal(world, devices, server, models);
  await world.run(activeEnd + healMs);
  checkNothingHeldBack({ devices, server, ledger, before: activeEnd });
  await quiesce(world, devices, server, ledger);
  const violations = [
    ...ledger.violations,
    ...(await checkInvariants({
      world,
      devices,
      server,
      ledger,
      models,
      relayInterrupted,
      now: world.now,
      healedAt: activeEnd,
      healMs,
    })),
  ];
  return {
    seed: scenario.seed,
    violations,
    trace: world.trace,
    stats: {
      events: world.steps,
      conversations: models.conversations.length,
      changes: server.store.recorded.length,
      iterations: (await server.store.list('iterations')).length,
    },
  };
}

function editOf(proposal: RowOf<'proposals'>, pick: number): Record<string, unknown> | undefined {
  if ('title' in proposal.params) return { title: `Edited by me ${pick % 1000}` };
  if ('body' in proposal.params) return { body: `Edited by me ${pick % 1000}` };
  return undefined;
}

/** Every fault heals: devices online with a tab open, clocks within minutes, a healthy model. */
function heal(
  world: World,
  devices: Devices,
  server: SimServer,
  models: ReturnType<typeof createSimModelService>,
): void {
  world.log('world', 'heal');
  models.faults = { ...healthyModel };
  devices.network.partitioned = false;
  devices.network.loss = 0;
  devices.network.duplicate = 0;
  for (const device of devices.list) {
    if (Math.abs(device.skewMs) > 180_000) device.skewMs = Math.sign(device.skewMs) * 180_000;
    devices.setOnline(device, true);
    for (const host of device.hosts)
      host.node.frozenUntil = Math.min(host.node.frozenUntil, world.now);
    if (!device.hosts.some((host) => host.node.alive && !host.closed)) devices.openHost(device);
    devices.elect(device);
  }
  void server;
}

/**
 * Invariant 7, its timely half: a whole healthy period after every fault healed, each change a
 * device made before then is at the relay or listed as refused (one refused change never holds
 * back the others).
 */
function checkNothingHeldBack(options: {
  devices: Devices;
  server: SimServer;
  ledger: ReturnType<typeof createLedger>;
  before: number;
}): void {
  let reported = 0;
  for (const entry of options.ledger.entries.values()) {
    if (
      entry.deviceId === undefined ||
      entry.at >= options.before ||
      options.server.seen.has(entry.change.id)
    )
      continue;
    const device = options.devices.list.find((candidate) => candidate.id === entry.deviceId);
    if (device?.refused.some((refused) => refused.id === entry.change.id)) continue;
    // A stamp some relay process's clock has not reached yet waits for it, visibly (the device's
    // sync error says so); it is not held back by another change.
    const relayNow = Math.min(...options.server.processes.map((process) => process.now()));
    if (hlcWallMs(entry.change.hlc) > relayNow + maxDriftMs - 60_000) continue;
    if (reported++ < 2)
      options.ledger.violate(
        '7 nothing dropped',
        `${entry.issuer}'s change ${entry.change.id} (${entry.change.table}/${entry.change.rowId}) is still not at the relay ${healMs / minute} minutes after every fault healed (last sync error: ${device?.lastError ?? 'none'})`,
      );
  }
}

/** Stops planning, lets the work in flight finish, then syncs every device until nothing moves. */
async function quiesce(
  world: World,
  devices: Devices,
  server: SimServer,
  ledger: ReturnType<typeof createLedger>,
): Promise<void> {
  devices.stopTicking();
  server.stopRunners();
  for (let round = 0; round < 200; round += 1) {
    await world.run(world.now + minute);
    if (devices.busy() || server.planningNow() > 0) continue;
    const end = String(server.store.recorded.length);
    const quiet = devices.list.every(
      (device) =>
        device.meta.pushedThrough + device.meta.refusedSeqs.size >= device.store.recorded.length &&
        (device.meta.cursor ?? '0') === end,
    );
    if (quiet) return;
    for (const device of devices.list) device.leader?.kick();
  }
  const stuck = devices.list.map(
    (device) =>
      `${device.id}: ${
        device.hosts
          .filter((host) => host.node.alive && host.planning.size > 0)
          .map((host) => `${host.node.name} planning ${[...host.planning].join(',')}`)
          .join(', ') || 'not planning'
      }, leader ${device.leader?.node.name ?? 'none'}${device.leader && !device.leader.node.alive ? ' (dead)' : ''}, pushed ${device.meta.pushedThrough}/${device.store.recorded.length}, cursor ${device.meta.cursor ?? '-'}/${server.store.recorded.length}, last error ${device.lastError ?? 'none'}`,
  );
  ledger.violate(
    '7 nothing dropped',
    `sync did not go quiet within 200 minutes after every fault healed (${stuck.join('; ')}; relay planning ${server.planningNow()})`,
  );
}

export function isExpectedFailure(error: unknown): boolean {
  return isEngineError(error);
}
