/**
 * A history's script, drawn from its seed before it runs: the replicas, and a timed list of what
 * people and faults do. A script is plain data, so a failing one can be shrunk (events removed)
 * and replayed.
 */
import type { MissionDraft } from '../model/mission.ts';
import type { ModelFaults } from './model.ts';
import { createRandom, type Random } from './random.ts';

export type PersonAction =
  | { kind: 'create_mission'; draft: Omit<MissionDraft, 'objective'> }
  | { kind: 'edit_schedule'; schedule: MissionDraft['schedule']; catchUp?: MissionDraft['catchUp'] }
  | { kind: 'pause' | 'resume' | 'archive' | 'run_now' }
  | { kind: 'approve' | 'reject' | 'edit_approve' | 'revert' }
  | {
      kind:
        'create_task' | 'edit_task' | 'delete_task' | 'create_note' | 'edit_note' | 'delete_note';
    };

export type Action =
  | { kind: 'open' | 'close' | 'crash'; device: number }
  | { kind: 'freeze'; device: number; forMs: number }
  | { kind: 'offline'; device: number; forMs: number }
  | { kind: 'partition'; forMs: number }
  | { kind: 'skew'; device: number; skewMs: number }
  | { kind: 'relay_crash'; process: number; downMs: number }
  | { kind: 'model_trouble'; forMs: number; faults: ModelFaults }
  | { kind: 'person'; device: number; action: PersonAction; pick: number };

export interface ScenarioEvent {
  at: number;
  action: Action;
}

export interface Scenario {
  seed: number;
  start: number;
  devices: number;
  hostsPerDevice: number;
  relayProcesses: number;
  relayConcurrency: number;
  network: { loss: number; duplicate: number; maxDelayMs: number };
  /** Faults and people act until `start + activeMs`; then everything heals. */
  activeMs: number;
  events: ScenarioEvent[];
  /**
   * Whether the relay draws a poke's delay for the connection it does not poke (the device that
   * pushed). Drawn unless false, which keeps the histories of the seeds pinned before the relay
   * left that poke out; false replays a history found while it was drawn only for the poked.
   */
  drawSkippedPokes?: boolean;
}

const minute = 60_000;
const hour = 60 * minute;

function draftOf(random: Random, start: number): Omit<MissionDraft, 'objective'> {
  const schedule: MissionDraft['schedule'] = random.chance(0.7)
    ? { kind: 'interval', everyMs: random.pick([5, 10, 15, 30]) * minute, anchor: start }
    : {
        kind: 'cron',
        expr: random.pick(['*/10 * * * *', '*/15 * * * *', '5,35 * * * *']),
        tz: random.pick(['UTC', 'Europe/Paris', 'America/New_York']),
      };
  return {
    title: `Mission ${random.int(1, 999)}`,
    schedule,
    catchUp: {
      mode: random.pick(['latest', 'latest', 'all', 'none'] as const),
      maxLateMs: random.pick([30 * minute, 6 * hour]),
    },
    runOn: random.pick(['any', 'any', 'any', 'any', 'device', 'relay'] as const),
    inputs: [{ table: 'tasks', where: 'open' }],
    tools: {
      list_tasks: 'auto',
      create_task: random.pick(['propose', 'propose', 'auto'] as const),
      update_task: 'propose',
      complete_task: random.pick(['propose', 'auto'] as const),
      create_note: 'propose',
      update_note: 'propose',
    },
    budget: {
      maxRunsPerDay: random.pick([2, 4, 8, 24]),
      maxTokensPerDay: random.pick([1_000, 5_000, 200_000]),
    },
  };
}

function personAction(random: Random, start: number): PersonAction {
  const roll = random.int(0, 99);
  if (roll < 6) return { kind: 'create_mission', draft: draftOf(random, start) };
  if (roll < 10) {
    const draft = draftOf(random, start);
    return {
      kind: 'edit_schedule',
      schedule: draft.schedule,
      ...(random.chance(0.5) ? { catchUp: draft.catchUp } : {}),
    };
  }
  if (roll < 13) return { kind: random.pick(['pause', 'resume', 'archive', 'resume'] as const) };
  if (roll < 20) return { kind: 'run_now' };
  if (roll < 50)
    return { kind: random.pick(['approve', 'approve', 'reject', 'edit_approve'] as const) };
  if (roll < 56) return { kind: 'revert' };
  return {
    kind: random.pick([
      'create_task',
      'edit_task',
      'edit_task',
      'delete_task',
      'create_note',
      'edit_note',
      'delete_note',
    ] as const),
  };
}

/** The script of seed `seed`. Sizes vary with the seed: most histories are small, some large. */
export function generateScenario(seed: number): Scenario {
  const random = createRandom(seed);
  const start = Date.UTC(2026, 2, 29, 0, 30) + random.int(0, 48) * hour; // around a DST change
  const devices = random.int(1, 3);
  const activeMs = random.int(10, 90) * minute;
  const scenario: Scenario = {
    seed,
    start,
    devices,
    hostsPerDevice: random.int(1, 3),
    relayProcesses: random.int(1, 2),
    relayConcurrency: random.int(1, 3),
    network: {
      loss: random.pick([0, 0, 0.02, 0.1]),
      duplicate: random.pick([0, 0.05, 0.2]),
      maxDelayMs: random.pick([50, 500, 3_000]),
    },
    activeMs,
    events: [],
  };
  const events = scenario.events;
  // Someone starts with a mission and a little data.
  events.push({
    at: start + 1_000,
    action: {
      kind: 'person',
      device: 0,
      action: { kind: 'create_mission', draft: draftOf(random, start) },
      pick: random.int(0, 1e6),
    },
  });
  for (let index = 0; index < 3; index += 1)
    events.push({
      at: start + 2_000 + index,
      action: {
        kind: 'person',
        device: 0,
        action: { kind: random.pick(['create_task', 'create_note'] as const) },
        pick: random.int(0, 1e6),
      },
    });
  const people = random.int(5, 40);
  for (let index = 0; index < people; index += 1)
    events.push({
      at: start + random.int(5_000, activeMs),
      action: {
        kind: 'person',
        device: random.int(0, devices - 1),
        action: personAction(random, start),
        pick: random.int(0, 1e6),
      },
    });
  const faults = random.int(0, 14);
  for (let index = 0; index < faults; index += 1) {
    const at = start + random.int(10_000, activeMs);
    const device = random.int(0, devices - 1);
    const roll = random.int(0, 99);
    let action: Action;
    if (roll < 12) action = { kind: 'open', device };
    else if (roll < 22) action = { kind: 'close', device };
    else if (roll < 34) action = { kind: 'crash', device };
    else if (roll < 46)
      action = {
        kind: 'freeze',
        device,
        forMs: random.pick([5_000, 30_000, 3 * minute, 12 * minute]),
      };
    else if (roll < 62)
      action = { kind: 'offline', device, forMs: random.pick([1, 10, 30, 90]) * minute };
    else if (roll < 68) action = { kind: 'partition', forMs: random.pick([1, 5, 20]) * minute };
    else if (roll < 78)
      action = {
        kind: 'skew',
        device,
        skewMs: random.chance(0.7)
          ? random.int(-180_000, 180_000)
          : random.pick([-1, 1]) * random.int(11, 60) * minute,
      };
    else if (roll < 88)
      action = {
        kind: 'relay_crash',
        process: random.int(0, scenario.relayProcesses - 1),
        downMs: random.int(5_000, 10 * minute),
      };
    else
      action = {
        kind: 'model_trouble',
        forMs: random.int(1, 30) * minute,
        faults: {
          transient: random.pick([0.2, 0.5, 1]),
          permanent: random.pick([0, 0.05]),
          badAnswer: random.pick([0, 0.05]),
          slow: random.pick([0, 0.2]),
          slowMs: 180_000,
        },
      };
    events.push({ at, action });
  }
  events.sort((a, b) => a.at - b.at);
  return scenario;
}
