import { describe, expect, it } from 'vitest';
import { createEngine } from './engine.ts';
import { createHlc, hostNodeId } from './sync/hlc.ts';
import type { Actor } from './model/actor.ts';
import { iterationIdOf, nextSlot } from './schedule/slots.ts';
import { createFixedClock, createSequentialIds } from './testing/fixed-clock.ts';
import { createMemoryStore, type MemoryStore } from './testing/memory-store.ts';
import type { StoredRow } from './sync/merge.ts';
import { createScriptedModel, replySequence } from './testing/scripted-model.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);
const person: Actor = { kind: 'user', deviceId: 'dev_a' };

function setup(
  options: {
    nodeId?: string;
    model?: ReturnType<typeof createScriptedModel>;
    store?: MemoryStore;
  } = {},
) {
  const store = options.store ?? createMemoryStore();
  const clock = createFixedClock(start);
  const model =
    options.model ??
    createScriptedModel(
      replySequence(
        [
          { toolCalls: [{ name: 'list_tasks', arguments: {} }] },
          {
            content: 'Adding one task.',
            toolCalls: [{ name: 'create_task', arguments: { title: 'Plan the week' } }],
          },
        ],
        { content: 'Proposed one task.' },
      ),
    );
  const nodeId = options.nodeId ?? 'dev_a';
  const engine = createEngine({
    store,
    clock,
    ids: createSequentialIds(nodeId === 'dev_a' ? 'A' : 'B'),
    model,
    nodeId,
    runner: { kind: 'device', deviceId: nodeId },
  });
  return { store, clock, model, engine };
}

const everyHour = { kind: 'interval', everyMs: 3_600_000, anchor: start } as const;

describe('iteration ids and slots', () => {
  it('derives the iteration id from mission and slot alone', async () => {
    expect(iterationIdOf('m_1', start)).toBe('m_1@2026-11-25T07:00:00.000Z');
    expect(iterationIdOf('m_1', start + 1)).not.toBe(iterationIdOf('m_1', start));
    expect(iterationIdOf('m_2', start)).not.toBe(iterationIdOf('m_1', start));

    // Two replicas that never talk plan the 08:00 slot of one mission, on different hosts with
    // different ids, one a second late and one 25 minutes late: both name it the same.
    const plannedBy = async (nodeId: string, lateMs: number) => {
      const { engine, clock } = setup({ nodeId });
      await engine.createMission({
        id: 'm_daily',
        draft: { title: 'Daily plan', objective: 'Keep my week on track', schedule: everyHour },
        actor: { kind: 'user', deviceId: nodeId },
      });
      clock.advance(3_600_000 + lateMs);
      const report = await engine.tick();
      return {
        planned: report.planned,
        stored: (await engine.rows('iterations')).map((row) => row.id),
      };
    };
    const expected = ['m_daily@2026-11-25T08:00:00.000Z'];
    expect(await plannedBy('dev_a', 1_000)).toEqual({ planned: expected, stored: expected });
    expect(await plannedBy('dev_b', 25 * 60_000)).toEqual({ planned: expected, stored: expected });
  });

  it('counts interval slots from the anchor, not from the last run', () => {
    expect(nextSlot(everyHour, start)).toBe(start + 3_600_000);
    expect(nextSlot(everyHour, start + 10 * 60_000)).toBe(start + 3_600_000);
    expect(nextSlot(everyHour, start - 1)).toBe(start);
  });

  it('follows a cron expression in its time zone', () => {
    const slot = nextSlot({ kind: 'cron', expr: '30 7 * * 1-5', tz: 'Europe/Berlin' }, start);
    // 2026-11-25 is a Wednesday; 07:30 in Berlin (UTC+1) is 06:30 UTC, so the next is Thursday.
    expect(new Date(slot!).toISOString()).toBe('2026-11-26T06:30:00.000Z');
  });
});

describe('a mission through the engine', () => {
  it('plans a due slot once: write-tool calls become pending proposals', async () => {
    const { engine, clock, model } = setup();
    const missionId = await engine.createMission({
      draft: {
        title: 'Daily plan',
        objective: 'Keep my week on track',
        schedule: everyHour,
        tools: { list_tasks: 'auto', create_task: 'propose' },
      },
      actor: person,
    });
    clock.advance(3_600_000 + 1_000);
    const report = await engine.tick();
    expect(report.planned).toEqual([iterationIdOf(missionId, start + 3_600_000)]);
    expect(model.requests).toHaveLength(3);
    const proposals = await engine.rows('proposals');
    expect(proposals).toMatchObject([
      {
        tool: 'create_task',
        params: { title: 'Plan the week' },
        status: 'pending',
        rationale: 'Adding one task.',
      },
    ]);
    const [iteration] = await engine.rows('iterations');
    expect(iteration).toMatchObject({
      status: 'planned',
      plan: { summary: 'Proposed one task.' },
      usage: { rounds: 3 },
    });

    const again = await engine.tick();
    expect(again.planned).toEqual([]);
    expect(model.requests).toHaveLength(3);
  });

  it('creates the task on approval, attributed to the AI, and marks the proposal executed', async () => {
    const { engine, clock } = setup();
    const missionId = await engine.createMission({
      draft: {
        title: 'Daily plan',
        objective: 'Plan',
        schedule: { kind: 'manual' },
        tools: { list_tasks: 'auto', create_task: 'propose' },
      },
      actor: person,
    });
    clock.advance(1_000);
    const { iterationId } = await engine.runNow({ missionId });
    const [proposal] = await engine.rows('proposals');
    const outcome = await engine.decide({
      proposalId: proposal!.id,
      verdict: 'approved',
      actor: person,
    });
    expect(outcome).toMatchObject({ kind: 'decided', status: 'executed' });
    const [task] = await engine.rows('tasks');
    expect(task).toMatchObject({
      title: 'Plan the week',
      done: false,
      createdBy: { kind: 'ai', missionId, iterationId, proposalId: proposal!.id },
    });
    const second = await engine.decide({
      proposalId: proposal!.id,
      verdict: 'rejected',
      actor: person,
    });
    expect(second).toMatchObject({ kind: 'already_decided', decision: { verdict: 'approved' } });
  });

  it('tells the planner that no model is configured', async () => {
    const store = createMemoryStore();
    const engine = createEngine({
      store,
      clock: createFixedClock(start),
      ids: createSequentialIds(),
      nodeId: 'dev_a',
      runner: { kind: 'device', deviceId: 'dev_a' },
    });
    const missionId = await engine.createMission({
      draft: { title: 'x', objective: 'y', schedule: { kind: 'manual' } },
      actor: person,
    });
    await engine.runNow({ missionId });
    const [iteration] = await engine.rows('iterations');
    expect(iteration).toMatchObject({ status: 'failed', error: { code: 'no_model' } });
    expect(iteration!.error!.message).toMatch(/No model is configured/);
  });

  it('refuses an empty objective and an invalid cron expression, writing nothing', async () => {
    const { engine, store } = setup();
    await expect(
      engine.createMission({
        draft: { title: 'x', objective: ' ', schedule: { kind: 'manual' } },
        actor: person,
      }),
    ).rejects.toMatchObject({ kind: 'invalid', field: 'objective' });
    await expect(
      engine.createMission({
        draft: {
          title: 'x',
          objective: 'y',
          schedule: { kind: 'cron', expr: '61 * * * *', tz: 'UTC' },
        },
        actor: person,
      }),
    ).rejects.toMatchObject({ kind: 'invalid', field: 'schedule.expr' });
    expect(await store.list('missions')).toEqual([]);
    expect(store.recorded).toEqual([]);
  });

  it('converges a second replica that applies the recorded changes', async () => {
    const a = setup();
    const missionId = await a.engine.createMission({
      draft: {
        title: 'Daily plan',
        objective: 'Plan',
        schedule: { kind: 'manual' },
        tools: { list_tasks: 'auto', create_task: 'propose' },
      },
      actor: person,
    });
    await a.engine.runNow({ missionId });
    const [proposal] = await a.engine.rows('proposals');
    await a.engine.decide({ proposalId: proposal!.id, verdict: 'approved', actor: person });
    const b = setup({ nodeId: 'dev_b' });
    const report = await b.engine.applyRemote(a.store.recorded);
    expect(report.refused).toEqual([]);
    expect(await b.engine.rows('tasks')).toEqual(await a.engine.rows('tasks'));
    expect(await b.store.list('proposals')).toEqual(await a.store.list('proposals'));
    expect(b.store.recorded).toEqual([]);
  });
});

/** A memory store that keeps every row its transactions put, in order. */
function storeKeepingPuts(): { store: MemoryStore; puts: StoredRow[] } {
  const inner = createMemoryStore();
  const puts: StoredRow[] = [];
  const store: MemoryStore = {
    get recorded() {
      return inner.recorded;
    },
    get: (table, id) => inner.get(table, id),
    getMany: (keys) => inner.getMany(keys),
    list: (table, filter) => inner.list(table, filter),
    transaction: (fn) =>
      inner.transaction((writer) =>
        fn({
          ...writer,
          put: (rows) => {
            puts.push(...rows);
            return writer.put(rows);
          },
        }),
      ),
  };
  return { store, puts };
}

describe('applying what the relay accepted', () => {
  it('writes no row again when changes it holds come back (a poke of its own push): an open page is not drawn again', async () => {
    const kept = storeKeepingPuts();
    const { engine, store } = setup({ store: kept.store });
    const taskId = await engine.saveRow({
      table: 'tasks',
      fields: { title: 'Buy milk' },
      actor: person,
    });
    const before = await store.get('tasks', taskId);
    kept.puts.length = 0;
    // The relay sends this device's own change back (the poke after its push), then again in a pull.
    expect(await engine.applyRemote(store.recorded)).toEqual({ applied: 1, refused: [] });
    expect(await engine.applyRemote(store.recorded)).toEqual({ applied: 1, refused: [] });
    expect(kept.puts).toEqual([]);
    expect(await store.get('tasks', taskId)).toEqual(before);
    // A change from another device to the same row is written as before.
    const other = setup({ nodeId: 'dev_b' });
    await other.engine.applyRemote(store.recorded);
    await other.engine.saveRow({
      table: 'tasks',
      id: taskId,
      fields: { title: 'Buy oat milk' },
      actor: { kind: 'user', deviceId: 'dev_b' },
    });
    await engine.applyRemote(other.store.recorded);
    expect(kept.puts.map((row) => row.fields.title)).toEqual(['Buy oat milk']);
    expect((await engine.rows('tasks')).map((task) => task.title)).toEqual(['Buy oat milk']);
  });

  it('applies a change stamped far ahead of this clock instead of skipping it (bug: the device diverged)', async () => {
    const ahead = setup({ nodeId: 'dev_b' });
    ahead.clock.set(start + 25 * 60_000); // this device's clock runs 25 minutes ahead
    const taskId = await ahead.engine.saveRow({
      table: 'tasks',
      fields: { title: 'Written on a fast clock' },
      actor: { kind: 'user', deviceId: 'dev_b' },
    });
    const { engine } = setup();
    const report = await engine.applyRemote(ahead.store.recorded);
    expect(report).toEqual({ applied: 1, refused: [] });
    expect((await engine.rows('tasks')).map((task) => task.id)).toEqual([taskId]);
    // Its clock moved past the stamp: its next write wins over it.
    const mine = await engine.saveRow({
      table: 'tasks',
      id: taskId,
      fields: { title: 'Mine' },
      actor: person,
    });
    expect((await engine.rows('tasks')).find((task) => task.id === mine)?.title).toBe('Mine');
  });
});

describe('hosts sharing one store (a browser’s workers, relay processes)', () => {
  it('stamp each write after everything the store holds, and never issue the same stamp (bug: follower edits lost)', async () => {
    const store = createMemoryStore();
    const clock = createFixedClock(start);
    const host = (hostId: string, prefix: string) =>
      createEngine({
        store,
        clock,
        ids: createSequentialIds(prefix),
        nodeId: 'dev_a',
        hlc: createHlc({ nodeId: hostNodeId({ deviceId: 'dev_a', hostId }) }),
        runner: { kind: 'device', deviceId: 'dev_a' },
      });
    const leader = host('worker-1', 'A');
    const follower = host('worker-2', 'B');
    // The leader pulls a change stamped by a device whose clock runs 4 minutes ahead.
    const remote = setup({ nodeId: 'dev_b' });
    remote.clock.set(start + 4 * 60_000);
    const taskId = await remote.engine.saveRow({
      table: 'tasks',
      fields: { title: 'From the other device' },
      actor: { kind: 'user', deviceId: 'dev_b' },
    });
    await leader.applyRemote(remote.store.recorded);
    // The follower never received that stamp itself, yet the person's edit made there wins.
    await follower.saveRow({
      table: 'tasks',
      id: taskId,
      fields: { title: 'Edited here' },
      actor: person,
    });
    expect((await follower.rows('tasks'))[0]?.title).toBe('Edited here');
    // Same wall clock, same counter: the two hosts' stamps still differ.
    await leader.saveRow({ table: 'tasks', fields: { title: 'A' }, actor: person });
    await follower.saveRow({ table: 'tasks', fields: { title: 'B' }, actor: person });
    const stamps = store.recorded.map((change) => change.hlc);
    expect(new Set(stamps).size).toBe(stamps.length);
  });
});
