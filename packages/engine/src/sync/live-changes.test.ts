import { describe, expect, it } from 'vitest';
import type { Transport } from '../ports.ts';
import { createFixedClock } from '../testing/fixed-clock.ts';
import { createReplica } from '../testing/replicas.ts';
import type { Change } from './change.ts';
import { applyLiveChanges, pokeAfterAppend } from './live-changes.ts';
import { maxLiveBytes, maxLiveChanges } from './protocol.ts';
import { pullAll, type CursorStore } from './sync-session.ts';

const wallMs = 1_700_000_000_000;

function change(n: number, title = `Task ${n}`): Change {
  return {
    id: `01J${String(n).padStart(23, '0')}`,
    table: 'tasks',
    rowId: `t${n}`,
    fields: { title },
    hlc: `00${wallMs}-${String(n).padStart(6, '0')}-dev_b`,
    actor: { kind: 'user', deviceId: 'dev_b' },
    deviceId: 'dev_b',
  };
}

/** A relay's log of changes 1…n (cursor = how many), a device on it, and what it pulled. */
function setup(log: Change[], stored: string | undefined) {
  const device = createReplica({
    runner: { kind: 'device', deviceId: 'dev_a' },
    clock: createFixedClock(wallMs),
    idPrefix: 'D',
  });
  let value = stored;
  const cursor: CursorStore = {
    get: async () => value,
    set: async (next) => {
      value = next;
    },
  };
  const pulls: Array<string | undefined> = [];
  const transport: Transport = {
    push: async () => ({ accepted: 0, duplicates: 0, cursor: String(log.length) }),
    pull: async ({ since, limit }) => {
      pulls.push(since);
      const from = Number(since ?? 0);
      const changes = log.slice(from, from + limit);
      return { changes, cursor: String(from + changes.length), more: from + limit < log.length };
    },
  };
  const titles = async () => (await device.engine.rows('tasks')).map((task) => task.title).sort();
  const apply = (changes: unknown[]) => device.engine.applyRemote(changes);
  return { device, cursor, transport, pulls, titles, apply, stored: () => value };
}

describe('changes carried by a live poke', () => {
  it('applies changes that start at the device cursor without a pull, and moves the cursor to the end of the poke', async () => {
    const log = [change(1), change(2), change(3)];
    const { cursor, transport, pulls, titles, apply, stored } = setup(log, '1');
    await pullAll({ transport, cursor, apply });
    pulls.length = 0;
    // The device pulled up to 3 already: a poke for 1…3 is no news.
    expect(
      await applyLiveChanges({
        poke: pokeAfterAppend({ since: '1', cursor: '3', changes: log.slice(1) }),
        cursor,
        apply,
      }),
    ).toEqual({ outcome: 'current' });

    log.push(change(4), change(5, 'Fifth'));
    const poke = pokeAfterAppend({ since: '3', cursor: '5', changes: log.slice(3) });
    const outcome = await applyLiveChanges({ poke, cursor, apply });
    expect(outcome).toEqual({ outcome: 'applied', report: { applied: 2, refused: [] } });
    expect(stored()).toBe('5');
    expect(await titles()).toEqual(['Fifth', 'Task 2', 'Task 3', 'Task 4']);
    expect(pulls).toEqual([]);
  });

  it('pulls page after page in order, the next one fetched while one is applied', async () => {
    const log = [1, 2, 3, 4, 5].map((n) => change(n));
    const { cursor, transport, pulls, titles, apply, stored } = setup(log, undefined);
    const applied: string[] = [];
    const report = await pullAll({
      transport,
      cursor,
      limit: 2,
      apply: async (changes) => {
        applied.push(...changes.map((item) => (item as Change).rowId));
        return apply(changes);
      },
    });
    expect(report).toEqual({ pulled: 5, refused: [], cursor: '5' });
    expect(applied).toEqual(['t1', 't2', 't3', 't4', 't5']);
    expect(pulls).toEqual([undefined, '2', '4']);
    expect(stored()).toBe('5');
    expect(await titles()).toHaveLength(5);
  });

  it('leaves changes after a gap to a pull, which brings the missed ones too', async () => {
    const log = [change(1), change(2), change(3)];
    const { cursor, transport, titles, apply, stored } = setup(log, '1');
    // The poke for change 2 was lost; the one for change 3 starts after the device's cursor.
    const poke = pokeAfterAppend({ since: '2', cursor: '3', changes: [change(3)] });
    expect(await applyLiveChanges({ poke, cursor, apply })).toEqual({ outcome: 'pull' });
    expect(stored()).toBe('1');
    expect(await titles()).toEqual([]);

    await pullAll({ transport, cursor, apply });
    expect(stored()).toBe('3');
    expect(await titles()).toEqual(['Task 2', 'Task 3']);
  });

  it('leaves a plain poke, and one for a device that never pulled, to a pull', async () => {
    const { cursor, apply } = setup([change(1)], undefined);
    const carried = pokeAfterAppend({ since: '0', cursor: '1', changes: [change(1)] });
    expect(await applyLiveChanges({ poke: carried, cursor, apply })).toEqual({ outcome: 'pull' });
    expect(await applyLiveChanges({ poke: { type: 'poke', cursor: '1' }, cursor, apply })).toEqual({
      outcome: 'pull',
    });
  });

  it('carries at most maxLiveChanges changes of about maxLiveBytes; past either, only pokes', () => {
    const many = Array.from({ length: maxLiveChanges + 1 }, (_, index) => change(index + 1));
    expect(pokeAfterAppend({ since: '0', cursor: '200', changes: many.slice(0, -1) })).toEqual({
      type: 'poke',
      since: '0',
      cursor: '200',
      changes: many.slice(0, -1),
    });
    expect(pokeAfterAppend({ since: '0', cursor: '201', changes: many })).toEqual({
      type: 'poke',
      cursor: '201',
    });
    const big = change(1, 'x'.repeat(400));
    const heavy = Array.from({ length: Math.ceil(maxLiveBytes / 400) }, (_, index) => ({
      ...big,
      id: change(index + 1).id,
    }));
    expect(pokeAfterAppend({ since: '0', cursor: '9', changes: heavy })).toEqual({
      type: 'poke',
      cursor: '9',
    });
    expect(pokeAfterAppend({ since: undefined, cursor: '1', changes: [change(1)] })).toEqual({
      type: 'poke',
      cursor: '1',
    });
  });
});
