import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Actor } from '../model/actor.ts';
import { readRow } from '../model/read-row.ts';
import type { TableName } from '../model/tables.ts';
import { ChangeSchema, type Change } from './change.ts';
import { formatHlc } from './hlc.ts';
import { mergeChange, mergeChanges, type StoredRow } from './merge.ts';

const nodes = ['dev_a', 'dev_b', 'relay_1'] as const;
const base = Date.UTC(2026, 10, 25, 7, 0, 0);

const stamp = (wallOffset: number, counter: number, node: string) =>
  formatHlc({ wallMs: base + wallOffset, counter, nodeId: node });

let changeCounter = 0;
function changeId(): string {
  changeCounter += 1;
  return `01J${String(changeCounter).padStart(23, '0')}`;
}

function userActor(node: string): Actor {
  return { kind: 'user', deviceId: node };
}

function change(options: {
  table: TableName;
  rowId: string;
  fields: Record<string, unknown>;
  hlc: string;
  actor?: Actor;
}): Change {
  const node = options.hlc.slice(options.hlc.lastIndexOf('-') + 1);
  return {
    id: changeId(),
    table: options.table,
    rowId: options.rowId,
    fields: options.fields,
    hlc: options.hlc,
    actor: options.actor ?? userActor(node),
    deviceId: node,
  };
}

function fold(changes: Iterable<Change>, row?: StoredRow): StoredRow | undefined {
  let current = row;
  for (const item of changes) current = mergeChange(current, item);
  return current;
}

// ---- generators: a few rows of tasks, iterations and proposals, written by three nodes ----

const stampArbitrary = fc
  .record({
    wall: fc.integer({ min: 0, max: 4 }),
    counter: fc.integer({ min: 0, max: 2 }),
    node: fc.constantFrom(...nodes),
  })
  .map(({ wall, counter, node }) => stamp(wall * 1_000, counter, node));

const actorArbitrary: fc.Arbitrary<Actor> = fc.oneof(
  fc.constantFrom(...nodes).map(userActor),
  fc.constant<Actor>({ kind: 'system', source: 'relay' }),
  fc.constant<Actor>({ kind: 'ai', missionId: 'm1', iterationId: 'it', proposalId: 'p' }),
);

const taskFields = fc.oneof(
  fc
    .record(
      {
        title: fc.constantFrom('Buy milk', 'Call Ana', 'Plan week'),
        done: fc.boolean(),
        priority: fc.constantFrom('low', 'normal', 'high'),
      },
      { requiredKeys: [] },
    )
    .filter((fields) => Object.keys(fields).length > 0),
  fc.constant({ _deleted: true }),
);

const runnerArbitrary = fc.oneof(
  fc.constantFrom('dev_a', 'dev_b').map((deviceId) => ({ kind: 'device', deviceId })),
  fc.constant({ kind: 'relay', instanceId: 'relay_1' }),
);

function iterationFields(hlc: string) {
  const planning = fc
    .record({
      status: fc.constantFrom('planned', 'failed', 'skipped'),
      runner: runnerArbitrary,
      steps: fc.integer({ min: 0, max: 3 }),
      // Retries write failures with more attempts; rows from before retries have none.
      attempts: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      code: fc.constantFrom('model', 'unavailable'),
    })
    .map(({ status, runner, steps, attempts, code }) => ({
      missionId: 'm1',
      slot: new Date(base).toISOString(),
      trigger: 'schedule',
      runner,
      status,
      plannedAt: hlc,
      plan:
        status === 'planned'
          ? {
              summary: `${steps} steps`,
              steps: Array.from({ length: steps }, (_, index) => ({
                tool: 'create_task',
                params: { title: `Step ${index}` },
                rationale: '',
              })),
              dropped: [],
            }
          : null,
      usage:
        status === 'skipped'
          ? null
          : { promptTokens: 10, completionTokens: 5, model: 'm', latencyMs: 1, rounds: 1 },
      error: status === 'failed' ? { code, message: 'down' } : null,
      ...(attempts === undefined || status === 'skipped' ? {} : { attempts }),
    }));
  return fc.oneof(
    { weight: 3, arbitrary: planning },
    { weight: 1, arbitrary: fc.record({ feedback: fc.constantFrom('good', 'too much', null) }) },
    { weight: 1, arbitrary: fc.constant({ _deleted: true }) },
  );
}

function proposalFields(hlc: string) {
  const step = fc.record({
    missionId: fc.constant('m1'),
    iterationId: fc.constant('it'),
    stepIndex: fc.integer({ min: 0, max: 2 }),
    tool: fc.constantFrom('create_task', 'complete_task'),
    params: fc.constantFrom({ title: 'A' }, { title: 'B' }, { taskId: 't1' }),
    rationale: fc.constantFrom('', 'because'),
  });
  const decided = fc
    .record({
      verdict: fc.constantFrom('approved', 'rejected'),
      by: actorArbitrary,
      feedback: fc.option(fc.constantFrom('no', 'later'), { nil: undefined }),
    })
    .map(({ verdict, by, feedback }) => ({
      status: verdict === 'rejected' ? 'rejected' : 'executed',
      decision: { verdict, by, at: hlc, ...(feedback ? { feedback } : {}) },
      result: verdict === 'approved' ? { table: 'tasks', rowId: 'p/tasks' } : null,
      effects: [],
      error: null,
    }));
  const undecided = fc
    .constantFrom('pending', 'superseded', 'stale')
    .map((status) => (status === 'stale' ? { status, error: 'gone' } : { status }));
  return fc.oneof(
    { weight: 2, arbitrary: step },
    { weight: 2, arbitrary: decided },
    { weight: 2, arbitrary: undecided },
    { weight: 1, arbitrary: fc.constant({ _deleted: true }) },
  );
}

const changeArbitrary: fc.Arbitrary<Change> = fc
  .record({
    table: fc.constantFrom<TableName>('tasks', 'iterations', 'proposals'),
    row: fc.constantFrom('r1', 'r2'),
    hlc: stampArbitrary,
    actor: actorArbitrary,
  })
  .chain(({ table, row, hlc, actor }) => {
    const fields =
      table === 'tasks'
        ? taskFields
        : table === 'iterations'
          ? iterationFields(hlc)
          : proposalFields(hlc);
    return fields.map((value) =>
      change({ table, rowId: row, fields: value as Record<string, unknown>, hlc, actor }),
    );
  });

/** A change log and a permutation of it. */
const logAndPermutation = fc
  .array(changeArbitrary, { minLength: 1, maxLength: 12 })
  .chain((log) =>
    fc.tuple(
      fc.constant(log),
      fc.shuffledSubarray(log, { minLength: log.length, maxLength: log.length }),
    ),
  );

function rowsOf(changes: Iterable<Change>): Map<string, StoredRow> {
  return mergeChanges(new Map(), changes);
}

describe('mergeChange properties', () => {
  it('generates only changes the change schema accepts', () => {
    fc.assert(
      fc.property(changeArbitrary, (generated) => {
        expect(ChangeSchema.safeParse(generated).success).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('is commutative: two changes on one row give the same row in either order', () => {
    const sameRowPair = fc
      .tuple(fc.array(changeArbitrary, { maxLength: 4 }), changeArbitrary, changeArbitrary)
      .map(([prefix, a, b]) => {
        const retarget = (item: Change) => ({ ...item, table: a.table, rowId: a.rowId });
        return {
          prefix: prefix.filter((item) => item.table === a.table).map(retarget),
          a,
          b: b.table === a.table ? { ...b, rowId: a.rowId } : { ...a, id: changeId() },
        };
      });
    fc.assert(
      fc.property(sameRowPair, ({ prefix, a, b }) => {
        const start = fold(prefix);
        expect(mergeChange(mergeChange(start, a), b)).toEqual(
          mergeChange(mergeChange(start, b), a),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('is associative: folding any permutation of a set of changes gives the same rows', () => {
    fc.assert(
      fc.property(logAndPermutation, ([log, permuted]) => {
        expect(rowsOf(permuted)).toEqual(rowsOf(log));
      }),
      { numRuns: 1000 },
    );
  });

  it('is idempotent: re-applying any change already merged changes nothing', () => {
    fc.assert(
      fc.property(
        fc.array(changeArbitrary, { minLength: 1, maxLength: 12 }),
        fc.nat(),
        (log, pick) => {
          const rows = rowsOf(log);
          const again = log[pick % log.length]!;
          const key = `${again.table}/${again.rowId}`;
          expect(mergeChange(rows.get(key), again)).toEqual(rows.get(key));
          expect(mergeChanges(new Map(rows), log)).toEqual(rows);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('converges three replicas that receive a log in any order, with duplicates', () => {
    const delivery = (log: Change[]) =>
      fc
        .tuple(
          fc.shuffledSubarray(log, { minLength: log.length, maxLength: log.length }),
          fc.array(fc.constantFrom(...log), { maxLength: 6 }),
          fc.array(fc.nat(), { maxLength: 6 }),
        )
        .map(([order, duplicates, positions]) => {
          const result = [...order];
          duplicates.forEach((item, index) =>
            result.splice((positions[index] ?? 0) % (result.length + 1), 0, item),
          );
          return result;
        });
    const scenario = fc
      .array(changeArbitrary, { minLength: 1, maxLength: 16 })
      .chain((log) => fc.tuple(fc.constant(log), delivery(log), delivery(log), delivery(log)));
    fc.assert(
      fc.property(scenario, ([log, first, second, third]) => {
        const expected = rowsOf(log);
        expect(rowsOf(first)).toEqual(expected);
        expect(rowsOf(second)).toEqual(expected);
        expect(rowsOf(third)).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('mergeChange rules', () => {
  const task = (fields: Record<string, unknown>, hlc: string, actor?: Actor) =>
    change({ table: 'tasks', rowId: 't1', fields, hlc, ...(actor ? { actor } : {}) });

  it('keeps the later write of each field, field by field', () => {
    const row = fold([
      task({ title: 'Old', done: false }, stamp(0, 0, 'dev_a')),
      task({ done: true }, stamp(2_000, 0, 'dev_b')),
      task({ title: 'New' }, stamp(1_000, 0, 'dev_b')),
      task({ title: 'Stale' }, stamp(500, 0, 'dev_a')),
    ]);
    expect(row?.fields).toMatchObject({ title: 'New', done: true });
    expect(row?.stamps.title).toBe(stamp(1_000, 0, 'dev_b'));
  });

  it('breaks a tie of wall time and counter by node id', () => {
    const a = task({ title: 'From a' }, stamp(0, 0, 'dev_a'));
    const b = task({ title: 'From b' }, stamp(0, 0, 'dev_b'));
    expect(fold([a, b])?.fields.title).toBe('From b');
    expect(fold([b, a])?.fields.title).toBe('From b');
  });

  it('deletes a row as the field _deleted, keeping its other fields', () => {
    const row = fold([
      task({ title: 'Buy milk', done: false }, stamp(0, 0, 'dev_a')),
      task({ _deleted: true }, stamp(1_000, 0, 'dev_b')),
      task({ title: 'Edited offline' }, stamp(500, 0, 'dev_a')),
    ]);
    expect(row?.fields).toMatchObject({ _deleted: true, title: 'Edited offline' });
  });

  const plan = (
    status: 'planned' | 'failed' | 'skipped',
    hlc: string,
    runner: Record<string, unknown>,
    summary = 'plan',
    attempts = 1,
  ) =>
    change({
      table: 'iterations',
      rowId: 'm1@slot',
      hlc,
      actor: { kind: 'system', source: 'device' },
      fields: {
        missionId: 'm1',
        slot: new Date(base).toISOString(),
        trigger: 'schedule',
        runner,
        status,
        plannedAt: hlc,
        plan: status === 'planned' ? { summary, steps: [], dropped: [] } : null,
        error: status === 'failed' ? { code: 'unavailable', message: 'down' } : null,
        attempts,
      },
    });
  const device = { kind: 'device', deviceId: 'dev_a' };
  const relay = { kind: 'relay', instanceId: 'relay_1' };

  it('keeps the earliest plan of an iteration whatever arrives first', () => {
    const early = plan('planned', stamp(0, 0, 'relay_1'), relay, 'relay plan');
    const late = plan('planned', stamp(1_000, 0, 'dev_a'), device, 'device plan');
    for (const order of [
      [early, late],
      [late, early],
    ]) {
      const row = fold(order)!;
      expect(row.fields).toMatchObject({ runner: relay, plan: { summary: 'relay plan' } });
      expect(row.fields.plannedAt).toBe(early.hlc);
    }
  });

  it('keeps a planned plan over a failed one, even a failure stamped earlier', () => {
    const failed = plan('failed', stamp(0, 0, 'dev_a'), device);
    const planned = plan('planned', stamp(1_000, 0, 'relay_1'), relay, 'relay plan');
    for (const order of [
      [failed, planned],
      [planned, failed],
    ]) {
      const row = fold(order)!;
      expect(row.fields).toMatchObject({ status: 'planned', runner: relay, error: null });
    }
  });

  it('keeps the failure of the latest attempt, and a retry’s plan over every failure', () => {
    const first = plan('failed', stamp(0, 0, 'relay_1'), relay, 'plan', 1);
    const deviceFirst = plan('failed', stamp(500, 0, 'dev_a'), device, 'plan', 1);
    const second = plan('failed', stamp(60_000, 0, 'relay_1'), relay, 'plan', 2);
    const third = plan('failed', stamp(180_000, 0, 'dev_a'), device, 'plan', 3);
    const retried = plan('planned', stamp(420_000, 0, 'relay_1'), relay, 'retried', 4);
    for (const order of [
      [first, deviceFirst, second, third],
      [third, second, deviceFirst, first],
      [second, first, third, deviceFirst],
    ]) {
      const row = fold(order)!;
      expect(row.fields).toMatchObject({ status: 'failed', attempts: 3, runner: device });
      expect(row.fields.plannedAt).toBe(third.hlc);
      expect(fold([deviceFirst, first])!.fields.plannedAt).toBe(first.hlc);
      expect(fold([...order, retried])!.fields).toMatchObject({ status: 'planned', attempts: 4 });
      expect(fold([retried, ...order])!.fields).toMatchObject({ status: 'planned', attempts: 4 });
    }
  });

  it('replaces the whole planning group, leaving no fields of the losing write behind', () => {
    const failed = change({
      ...plan('failed', stamp(0, 0, 'dev_a'), device),
      fields: { ...plan('failed', stamp(0, 0, 'dev_a'), device).fields, usage: null },
    });
    const planned = plan('planned', stamp(1_000, 0, 'relay_1'), relay);
    const row = fold([failed, planned])!;
    expect('usage' in row.fields).toBe(false);
    const read = readRow('iterations', row);
    expect(read.ok && read.row.usage).toBe(null);
  });

  const decision = (verdict: 'approved' | 'rejected', hlc: string, node: string) =>
    change({
      table: 'proposals',
      rowId: 'm1@slot#0',
      hlc,
      actor: userActor(node),
      fields: {
        status: verdict === 'approved' ? 'executed' : 'rejected',
        decision: { verdict, by: userActor(node), at: hlc },
        result: null,
        effects: [],
        error: null,
      },
    });
  const status = (value: string, hlc: string) =>
    change({ table: 'proposals', rowId: 'm1@slot#0', hlc, fields: { status: value } });

  it('keeps the first decision on a proposal on every replica', () => {
    const first = decision('rejected', stamp(0, 0, 'dev_b'), 'dev_b');
    const second = decision('approved', stamp(1_000, 0, 'dev_a'), 'dev_a');
    for (const order of [
      [first, second],
      [second, first],
    ]) {
      const row = fold(order)!;
      expect(row.fields).toMatchObject({
        status: 'rejected',
        decision: { verdict: 'rejected', by: { deviceId: 'dev_b' } },
      });
    }
  });

  it('keeps a decision over an undecided status written later', () => {
    const decided = decision('approved', stamp(0, 0, 'dev_a'), 'dev_a');
    const superseded = status('superseded', stamp(5_000, 0, 'relay_1'));
    for (const order of [
      [decided, superseded],
      [superseded, decided],
    ]) {
      expect(fold(order)!.fields).toMatchObject({ status: 'executed' });
    }
  });

  it('treats undecided statuses as last-writer-wins among themselves', () => {
    const pending = status('pending', stamp(0, 0, 'dev_a'));
    const superseded = status('superseded', stamp(1_000, 0, 'relay_1'));
    expect(fold([superseded, pending])!.fields.status).toBe('superseded');
    expect(fold([pending, superseded])!.fields.status).toBe('superseded');
  });

  it('keeps the earliest actor as the creator and the latest as the last editor', () => {
    const created = task({ title: 'Buy milk' }, stamp(0, 0, 'dev_a'), userActor('dev_a'));
    const ai: Actor = { kind: 'ai', missionId: 'm1', iterationId: 'it', proposalId: 'p' };
    const edited = task({ done: true }, stamp(1_000, 0, 'relay_1'), ai);
    for (const order of [
      [created, edited],
      [edited, created],
    ]) {
      const row = fold(order)!;
      expect(row.fields._createdBy).toEqual(userActor('dev_a'));
      expect(row.fields._updatedBy).toEqual(ai);
      const read = readRow('tasks', row);
      expect(read.ok && read.row.createdBy).toEqual(userActor('dev_a'));
    }
  });

  it('does not mutate the row it merges into', () => {
    const row = fold([task({ title: 'A' }, stamp(0, 0, 'dev_a'))])!;
    const snapshot = structuredClone(row);
    mergeChange(row, task({ title: 'B' }, stamp(1_000, 0, 'dev_a')));
    expect(row).toEqual(snapshot);
  });
});
