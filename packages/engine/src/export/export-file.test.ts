import { describe, expect, it } from 'vitest';
import { createEngine } from '../engine.ts';
import type { Actor } from '../model/actor.ts';
import { tableNames } from '../model/tables.ts';
import type { Change } from '../sync/change.ts';
import { mergeChange, type StoredRow } from '../sync/merge.ts';
import { createFixedClock, createSequentialIds } from '../testing/fixed-clock.ts';
import { createMemoryStore, type MemoryStore } from '../testing/memory-store.ts';
import { createScriptedModel, replySequence } from '../testing/scripted-model.ts';
import { rowChanges } from './row-changes.ts';

const start = Date.UTC(2026, 10, 25, 7, 0, 0);

function replica(nodeId: string, prefix: string) {
  const store = createMemoryStore();
  const clock = createFixedClock(start);
  const model = createScriptedModel(
    replySequence([
      {
        content: 'Two tasks.',
        toolCalls: [
          { name: 'create_task', arguments: { title: 'Plan the week' } },
          { name: 'create_note', arguments: { title: 'Week', body: 'Mostly meetings' } },
        ],
      },
    ]),
  );
  const engine = createEngine({
    store,
    clock,
    ids: createSequentialIds(prefix),
    model,
    nodeId,
    runner: { kind: 'device', deviceId: nodeId },
  });
  return { store, clock, engine, person: { kind: 'user', deviceId: nodeId } as Actor };
}

/** A history with every table: a planned run, an approved and a rejected step, edits, a delete. */
async function someHistory() {
  const a = replica('dev_a', 'A');
  const missionId = await a.engine.createMission({
    draft: {
      title: 'Weekly plan',
      objective: 'Keep my week on track',
      schedule: { kind: 'manual' },
      tools: { create_task: 'propose', create_note: 'propose' },
    },
    actor: a.person,
  });
  a.clock.advance(60_000);
  const { iterationId } = await a.engine.runNow({ missionId });
  a.clock.advance(60_000);
  await a.engine.decide({ proposalId: `${iterationId}#0`, verdict: 'approved', actor: a.person });
  await a.engine.decide({
    proposalId: `${iterationId}#1`,
    verdict: 'rejected',
    feedback: 'No notes please',
    actor: a.person,
  });
  a.clock.advance(60_000);
  const [task] = await a.engine.rows('tasks');
  await a.engine.saveRow({ table: 'tasks', id: task!.id, fields: { done: true }, actor: a.person });
  const gone = await a.engine.saveRow({
    table: 'notes',
    fields: { title: 'Old', body: '' },
    actor: a.person,
  });
  await a.engine.saveRow({
    table: 'notes',
    fields: { title: 'Ideas', body: 'Walk more' },
    actor: a.person,
  });
  await a.engine.saveRow({
    table: 'goals',
    fields: { title: 'Run 5 km', target: '5 km', progress: 1 },
    actor: a.person,
  });
  await a.engine.deleteRow({ table: 'notes', id: gone, actor: a.person });
  return { a, missionId, iterationId };
}

async function allRows(store: MemoryStore): Promise<StoredRow[]> {
  const rows: StoredRow[] = [];
  for (const table of tableNames) rows.push(...(await store.list(table)));
  return rows;
}

describe('export and import of a person’s data', () => {
  it('gives back every row, stamps and authors included, in an empty replica', async () => {
    const { a } = await someHistory();
    const file = JSON.parse(JSON.stringify(await a.engine.exportData({ user: 'ada' })));
    expect(file).toMatchObject({ format: 'baton-export', version: 1, user: 'ada' });
    expect(file.tables.proposals).toHaveLength(2);

    const b = replica('dev_b', 'B');
    const report = await b.engine.importData(file);
    const rows = await allRows(a.store);
    expect(report).toMatchObject({
      rows: rows.length,
      added: rows.length,
      updated: 0,
      unchanged: 0,
    });
    expect(await allRows(b.store)).toEqual(rows);
    const [task] = await b.engine.rows('tasks');
    expect(task).toMatchObject({ title: 'Plan the week', done: true });
    expect(task!.createdBy?.kind).toBe('ai');
    expect(await b.engine.rows('notes')).toHaveLength(1);

    // What the import recorded for push builds the same rows wherever it is applied (the relay).
    expect(b.store.recorded.length).toBeGreaterThan(0);
    const c = replica('dev_c', 'C');
    await c.engine.applyRemote(JSON.parse(JSON.stringify(b.store.recorded)));
    expect(await allRows(c.store)).toEqual(rows);
  });

  it('changes nothing and records nothing when imported twice, or where the rows already are', async () => {
    const { a } = await someHistory();
    const file = await a.engine.exportData();
    const b = replica('dev_b', 'B');
    await b.engine.importData(file);
    const rows = await allRows(b.store);
    const recorded = b.store.recorded.length;

    const again = await b.engine.importData(file);
    expect(again).toMatchObject({ added: 0, updated: 0, unchanged: rows.length });
    expect(await allRows(b.store)).toEqual(rows);
    expect(b.store.recorded).toHaveLength(recorded);

    const before = a.store.recorded.length;
    expect(await a.engine.importData(file)).toMatchObject({ added: 0, updated: 0 });
    expect(a.store.recorded).toHaveLength(before);
  });

  it('merges rather than overwrites: an edit made here after the export stays', async () => {
    const { a } = await someHistory();
    const file = await a.engine.exportData();
    const [task] = await a.engine.rows('tasks');
    a.clock.advance(60_000);
    await a.engine.saveRow({
      table: 'tasks',
      id: task!.id,
      fields: { title: 'Plan next week' },
      actor: a.person,
    });
    const recorded = a.store.recorded.length;
    expect(await a.engine.importData(file)).toMatchObject({ updated: 0 });
    expect((await a.engine.rows('tasks'))[0]).toMatchObject({
      title: 'Plan next week',
      done: true,
    });
    expect(a.store.recorded).toHaveLength(recorded);

    // The other way round: an older replica takes the newer fields of the file and pushes them.
    const older = replica('dev_b', 'B');
    await older.engine.importData(file);
    const newer = await a.engine.exportData();
    expect(await older.engine.importData(newer)).toMatchObject({ added: 0, updated: 1 });
    expect((await older.engine.rows('tasks'))[0]).toMatchObject({ title: 'Plan next week' });
  });

  it('refuses a file it cannot read whole, naming what is wrong, and writes nothing', async () => {
    const { a } = await someHistory();
    const good = JSON.parse(JSON.stringify(await a.engine.exportData()));
    const b = replica('dev_b', 'B');
    const refusal = async (file: unknown) => {
      const error = await b.engine.importData(file).then(
        () => undefined,
        (thrown: unknown) => thrown as Error & { kind: string },
      );
      expect(error?.kind).toMatch(/invalid|clock/);
      return error!.message;
    };
    expect(await refusal({ hello: 'world' })).toMatch(/not a Baton export.*format/);
    expect(await refusal('[1, 2]')).toMatch(/not a Baton export/);
    expect(await refusal({ ...good, version: 2 })).toMatch(/version 2, made by a newer Baton/);
    expect(await refusal({ format: 'baton-export', version: 2 })).toMatch(/made by a newer Baton/);
    expect(await refusal({ format: 'baton-export', version: 1 })).toMatch(/exportedAt/);

    const badTitle = structuredClone(good);
    badTitle.tables.tasks[0].fields.title = 42;
    expect(await refusal(badTitle)).toMatch(/tables\.tasks\.0\.fields\.title/);

    const noStamp = structuredClone(good);
    delete noStamp.tables.goals[0].stamps.target;
    expect(await refusal(noStamp)).toMatch(
      /tables\.goals\.0\.stamps\.target: a field without its stamp/,
    );

    const future = structuredClone(good);
    future.tables.notes[0].stamps.title = '009999999999999-000000-dev_a';
    expect(await refusal(future)).toMatch(/tables\.notes\.0.*ahead of this device's clock/);

    expect(await allRows(b.store)).toEqual([]);
    expect(b.store.recorded).toEqual([]);
  });
});

describe('rowChanges', () => {
  it('keeps the creator of a row whose every field was written since', () => {
    const ai: Actor = { kind: 'ai', missionId: 'm', iterationId: 'm@x', proposalId: 'm@x#0' };
    const person: Actor = { kind: 'user', deviceId: 'dev_a' };
    const change = (fields: Record<string, unknown>, hlc: string, actor: Actor): Change => ({
      id: '01J00000000000000000000000',
      table: 'notes',
      rowId: 'note_1',
      fields,
      hlc,
      actor,
      deviceId: 'dev_a',
    });
    const row = [
      change({ title: 'A', body: 'b' }, '001795545100000-000000-dev_a', ai),
      change({ title: 'B', body: 'c' }, '001795545200000-000000-dev_a', person),
    ].reduce<StoredRow | undefined>(mergeChange, undefined)!;
    const changes = rowChanges({
      table: 'notes',
      row,
      ids: createSequentialIds('R'),
      deviceId: 'dev_b',
    });
    expect(changes.map((each) => each.actor.kind)).toEqual(['ai', 'user']);
    expect(changes.reduce<StoredRow | undefined>(mergeChange, undefined)).toEqual(row);
  });
});
