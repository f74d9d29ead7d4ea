import { describe, expect, it } from 'vitest';
import type { Actor } from '../model/actor.ts';
import type { Effect } from '../model/proposal.ts';
import type { StoredRow } from '../sync/merge.ts';
import { compensationEdits, rowsToCompensate, type DecidedOutcome } from './compensate.ts';

const winnerAt = '001795545100000-000000-dev_a';
const loserAt = '001795545200000-000000-dev_b';
const personAt = '001795545300000-000000-dev_b';
const merge: Actor = { kind: 'system', source: 'merge' };
const step = { tool: 'create_task', params: { title: 'X' }, rationale: '' };

function outcome(
  at: string,
  verdict: 'approved' | 'rejected',
  effects: Effect[],
  status = verdict === 'approved' ? 'executed' : 'rejected',
): DecidedOutcome {
  return {
    decision: { verdict, by: { kind: 'user', deviceId: 'dev_x' }, at, step },
    status: status as DecidedOutcome['status'],
    effects,
  };
}

function task(id: string, fields: Record<string, unknown>, stamp: string): StoredRow {
  return {
    table: 'tasks',
    id,
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((name) => [name, stamp])),
  };
}

const created = (after: Record<string, unknown>): Effect => ({
  table: 'tasks',
  rowId: 'p#0/tasks',
  before: { _deleted: true },
  after,
});

function rowsOf(...rows: StoredRow[]) {
  return new Map(rows.map((row) => [`${row.table}/${row.id}`, row]));
}

describe('compensating an execution that lost its decision', () => {
  it('deletes the row the lost step created when the winner rejected the step', () => {
    const losses = [
      {
        lost: outcome(loserAt, 'approved', [created({ title: 'Y' })]),
        won: outcome(winnerAt, 'rejected', []),
      },
    ];
    expect(rowsToCompensate(losses)).toEqual([{ table: 'tasks', rowId: 'p#0/tasks' }]);
    const edits = compensationEdits({
      losses,
      rows: rowsOf(task('p#0/tasks', { title: 'Y', done: false }, loserAt)),
    });
    expect(edits).toEqual([
      { table: 'tasks', rowId: 'p#0/tasks', fields: { _deleted: true }, actor: merge },
    ]);
  });

  it('keeps a row the lost step created once the person edited it (bug: it was deleted)', () => {
    const losses = [
      {
        lost: outcome(loserAt, 'approved', [created({ title: 'Y' })]),
        won: outcome(winnerAt, 'rejected', []),
      },
    ];
    const edited = task('p#0/tasks', { title: 'Y', done: false }, loserAt);
    edited.fields.title = 'Mine now';
    edited.stamps.title = personAt;
    expect(compensationEdits({ losses, rows: rowsOf(edited) })).toEqual([]);
  });

  it("shows the winner's values on a row both executions created", () => {
    const losses = [
      {
        lost: outcome(loserAt, 'approved', [created({ title: 'Y', priority: 'low', done: false })]),
        won: outcome(winnerAt, 'approved', [
          created({ title: 'X', priority: 'high', done: false }),
        ]),
      },
    ];
    // The loser's write is later, so it won every field it shares with the winner.
    const row = task('p#0/tasks', { title: 'Y', priority: 'low', done: false }, loserAt);
    expect(compensationEdits({ losses, rows: rowsOf(row) })).toEqual([
      {
        table: 'tasks',
        rowId: 'p#0/tasks',
        fields: { title: 'X', priority: 'high' },
        actor: merge,
      },
    ]);
  });

  it('puts back the values the lost step changed and leaves the fields the winner wrote alone', () => {
    const losses = [
      {
        lost: outcome(loserAt, 'approved', [
          {
            table: 'tasks',
            rowId: 't1',
            before: { priority: 'normal' },
            after: { priority: 'high' },
          },
        ]),
        won: outcome(winnerAt, 'approved', [
          { table: 'tasks', rowId: 't1', before: { title: 'Old' }, after: { title: 'New' } },
        ]),
      },
    ];
    const row: StoredRow = {
      table: 'tasks',
      id: 't1',
      fields: { title: 'New', priority: 'high' },
      stamps: { title: winnerAt, priority: loserAt },
    };
    expect(compensationEdits({ losses, rows: rowsOf(row) })).toEqual([
      { table: 'tasks', rowId: 't1', fields: { priority: 'normal' }, actor: merge },
    ]);
  });

  it('keeps a field the person changed after the lost step', () => {
    const losses = [
      {
        lost: outcome(loserAt, 'approved', [
          {
            table: 'tasks',
            rowId: 't1',
            before: { title: 'Old', notes: '' },
            after: { title: 'AI title', notes: 'AI notes' },
          },
        ]),
        won: outcome(winnerAt, 'rejected', []),
      },
    ];
    const row: StoredRow = {
      table: 'tasks',
      id: 't1',
      fields: { title: 'Mine', notes: 'AI notes' },
      stamps: { title: personAt, notes: loserAt },
    };
    expect(compensationEdits({ losses, rows: rowsOf(row) })).toEqual([
      { table: 'tasks', rowId: 't1', fields: { notes: '' }, actor: merge },
    ]);
  });

  it('writes nothing for a row that is already deleted or already shows the result', () => {
    const losses = [
      {
        lost: outcome(loserAt, 'approved', [
          created({ title: 'Y' }),
          { table: 'tasks', rowId: 't1', before: { done: false }, after: { done: true } },
          { table: 'tasks', rowId: 't2', before: { done: false }, after: { done: true } },
        ]),
        won: outcome(winnerAt, 'approved', [
          { table: 'tasks', rowId: 't2', before: { done: false }, after: { done: true } },
        ]),
      },
    ];
    const deleted: StoredRow = {
      table: 'tasks',
      id: 'p#0/tasks',
      fields: { title: 'Y', _deleted: true },
      stamps: { title: loserAt, _deleted: personAt },
    };
    const gone: StoredRow = { ...task('t1', { done: true }, loserAt) };
    gone.fields._deleted = true;
    expect(
      compensationEdits({
        losses,
        rows: rowsOf(deleted, gone, task('t2', { done: true }, loserAt)),
      }),
    ).toEqual([]);
  });

  it('restores an unreadable winner as a rejection: the lost change is undone', () => {
    const losses = [
      {
        lost: outcome(loserAt, 'approved', [
          { table: 'tasks', rowId: 't1', before: { done: false }, after: { done: true } },
        ]),
        won: null,
      },
    ];
    expect(
      compensationEdits({ losses, rows: rowsOf(task('t1', { done: true }, loserAt)) }),
    ).toEqual([{ table: 'tasks', rowId: 't1', fields: { done: false }, actor: merge }]);
  });

  it('folds two lost steps on one row into one edit holding the earliest values', () => {
    const later = '001795545250000-000000-dev_b';
    const losses = [
      {
        lost: outcome(loserAt, 'approved', [
          { table: 'tasks', rowId: 't1', before: { title: 'A' }, after: { title: 'B' } },
        ]),
        won: outcome(winnerAt, 'rejected', []),
      },
      {
        lost: outcome(later, 'approved', [
          { table: 'tasks', rowId: 't1', before: { title: 'B' }, after: { title: 'C' } },
        ]),
        won: outcome(winnerAt, 'rejected', []),
      },
    ];
    expect(compensationEdits({ losses, rows: rowsOf(task('t1', { title: 'C' }, later)) })).toEqual([
      { table: 'tasks', rowId: 't1', fields: { title: 'A' }, actor: merge },
    ]);
  });

  it('keeps what another step of the winning plan wrote on a field the lost execution overwrote (found by the simulator, seed 59049)', () => {
    // Two plans of a slot did one thing as different steps: the loser's #0 and the winner's #1
    // both completed t1. The loser's #0 lost to a stale decision; the winner's #1 executed.
    const completes: Effect = {
      table: 'tasks',
      rowId: 't1',
      before: { done: false },
      after: { done: true },
    };
    const lostZero = outcome(loserAt, 'approved', [completes]);
    const staleZero = outcome(winnerAt, 'approved', [], 'stale');
    const lostOne = outcome(loserAt, 'approved', [created({ title: 'Other' })]);
    const wonOne = outcome(winnerAt, 'approved', [completes]);
    // The loser's write is later, so t1.done holds it; the value is the winner's as well.
    const row = task('t1', { done: true }, loserAt);
    const expected = [{ table: 'tasks', rowId: 't1', fields: { done: true }, actor: merge }];
    expect(
      compensationEdits({
        losses: [
          { lost: lostZero, won: staleZero },
          { lost: lostOne, won: wonOne },
        ],
        rows: rowsOf(row),
      }).filter((edit) => edit.rowId === 't1'),
    ).toEqual(expected);
    // The same when the winner's step is not itself contested (it arrives as another step).
    expect(
      compensationEdits({
        losses: [{ lost: lostZero, won: staleZero }],
        rows: rowsOf(row),
        others: [wonOne],
      }),
    ).toEqual(expected);
    // Without it, the lost write is undone.
    expect(
      compensationEdits({ losses: [{ lost: lostZero, won: staleZero }], rows: rowsOf(row) }),
    ).toEqual([{ table: 'tasks', rowId: 't1', fields: { done: false }, actor: merge }]);
  });

  it('stops a later lost step of another proposal being the writer of a field the winner shows (found by the simulator, seed 435158)', () => {
    // Three plans of a slot, all completing t1. The winner (dev_a here) completed it as #0; its
    // #1 went stale. dev_c's #0 lost to the winner's #0, and the relay's #1, executed last, lost
    // to the stale #1. t1.done holds the relay's write: the value is the winner's, the writer not.
    const devC = '001795545150000-000000-dev_c';
    const completes: Effect = {
      table: 'tasks',
      rowId: 't1',
      before: { done: false },
      after: { done: true },
    };
    const losses = [
      {
        lost: outcome(loserAt, 'approved', [completes]),
        won: outcome(winnerAt, 'approved', [], 'stale'),
      },
      {
        lost: outcome(devC, 'approved', [completes]),
        won: outcome(winnerAt, 'approved', [completes]),
      },
    ];
    expect(
      compensationEdits({ losses, rows: rowsOf(task('t1', { done: true }, loserAt)) }),
    ).toEqual([{ table: 'tasks', rowId: 't1', fields: { done: true }, actor: merge }]);
    // Held by dev_c's #0, the winner's own proposal's loser, the same value needs no edit.
    expect(compensationEdits({ losses, rows: rowsOf(task('t1', { done: true }, devC)) })).toEqual(
      [],
    );
  });

  it('undoes a later lost step on a row an earlier lost step created and the person kept (found by the simulator, seed 467692)', () => {
    // Two slots planned on two devices while cut off. The first slot's losing plan created the
    // task (its winner's step went stale), and the person renamed the task: it is theirs now.
    // The next slot's losing plan completed that task; its winner created another task.
    const laterLoserAt = '001795545250000-000000-dev_b';
    const losses = [
      {
        lost: outcome(loserAt, 'approved', [created({ title: 'Y', done: false })]),
        won: outcome(winnerAt, 'approved', [], 'stale'),
      },
      {
        lost: outcome(laterLoserAt, 'approved', [
          { table: 'tasks', rowId: 'p#0/tasks', before: { done: false }, after: { done: true } },
        ]),
        won: outcome(winnerAt, 'approved', [
          { table: 'tasks', rowId: 'q#0/tasks', before: { _deleted: true }, after: { title: 'Z' } },
        ]),
      },
    ];
    const kept = task('p#0/tasks', { title: 'Mine now', done: true }, loserAt);
    kept.stamps.title = personAt;
    kept.stamps.done = laterLoserAt;
    // The row stays (the person changed it), and the completion that lost is undone.
    expect(compensationEdits({ losses, rows: rowsOf(kept) })).toEqual([
      { table: 'tasks', rowId: 'p#0/tasks', fields: { done: false }, actor: merge },
    ]);
  });
});
