import { describe, expect, it } from 'vitest';
import type { Store } from '../ports.ts';
import type { Change } from '../sync/change.ts';
import type { StoredRow } from '../sync/merge.ts';

function taskRow(id: string, title: string, extra: Record<string, unknown> = {}): StoredRow {
  return {
    table: 'tasks',
    id,
    fields: { title, done: false, ...extra },
    stamps: { title: '001700000000000-000000-dev_a', done: '001700000000000-000000-dev_a' },
  };
}

function change(id: string, rowId: string): Change {
  return {
    id,
    table: 'tasks',
    rowId,
    fields: { title: rowId },
    hlc: '001700000000000-000001-dev_a',
    actor: { kind: 'user', deviceId: 'dev_a' },
    deviceId: 'dev_a',
  };
}

/**
 * The Store port's contract. Every adapter runs it in one line:
 * `describeStoreContract('dexie', () => createDexieStore(...))`. `makeStore` returns a fresh,
 * empty store; `cleanup` (optional) closes it. `recorded` reads back what `record` kept, in order.
 */
export function describeStoreContract(
  name: string,
  makeStore: () => Promise<{
    store: Store;
    recorded: () => Promise<Change[]>;
    cleanup?: () => Promise<void>;
  }>,
): void {
  describe(`Store contract: ${name}`, () => {
    async function withStore(
      fn: (store: Store, recorded: () => Promise<Change[]>) => Promise<void>,
    ) {
      const made = await makeStore();
      try {
        await fn(made.store, made.recorded);
      } finally {
        await made.cleanup?.();
      }
    }

    it('reads back a row it put, fields and stamps intact', async () => {
      await withStore(async (store) => {
        const row = taskRow('t1', 'Buy milk', { notes: 'two litres', due: null, priority: 'high' });
        await store.transaction((writer) => writer.put([row]));
        expect(await store.get('tasks', 't1')).toEqual(row);
        expect(await store.get('tasks', 'missing')).toBeUndefined();
        expect(await store.get('notes', 't1')).toBeUndefined();
      });
    });

    it('lists a table in id order and filters by a field value', async () => {
      await withStore(async (store) => {
        await store.transaction((writer) =>
          writer.put([taskRow('b', 'B', { done: true }), taskRow('a', 'A'), taskRow('c', 'C')]),
        );
        await store.transaction((writer) =>
          writer.put([{ ...taskRow('n1', 'Note'), table: 'notes' }]),
        );
        expect((await store.list('tasks')).map((row) => row.id)).toEqual(['a', 'b', 'c']);
        expect(
          (await store.list('tasks', { field: 'done', equals: false })).map((row) => row.id),
        ).toEqual(['a', 'c']);
        expect((await store.list('notes')).map((row) => row.id)).toEqual(['n1']);
      });
    });

    it('replaces a whole row on a second put', async () => {
      await withStore(async (store) => {
        await store.transaction((writer) => writer.put([taskRow('t1', 'Old', { notes: 'x' })]));
        await store.transaction((writer) => writer.put([taskRow('t1', 'New')]));
        const row = await store.get('tasks', 't1');
        expect(row?.fields).toEqual({ title: 'New', done: false });
      });
    });

    it('lets a transaction read its own writes before commit', async () => {
      await withStore(async (store) => {
        const seen = await store.transaction(async (writer) => {
          await writer.put([taskRow('t1', 'Inside')]);
          const one = await writer.get('tasks', 't1');
          const all = await writer.list('tasks');
          return { one: one?.fields.title, count: all.length };
        });
        expect(seen).toEqual({ one: 'Inside', count: 1 });
      });
    });

    it('reads many rows at once in the order asked, its own writes included', async () => {
      await withStore(async (store) => {
        await store.transaction((writer) =>
          writer.put([taskRow('t1', 'Committed'), taskRow('t2', 'Also committed')]),
        );
        const seen = await store.transaction(async (writer) => {
          await writer.put([taskRow('t3', 'Inside')]);
          const rows = await writer.getMany([
            { table: 'tasks', id: 't3' },
            { table: 'notes', id: 't1' },
            { table: 'tasks', id: 'missing' },
            { table: 'tasks', id: 't1' },
          ]);
          return rows.map((row) => row?.fields.title);
        });
        expect(seen).toEqual(['Inside', undefined, undefined, 'Committed']);
      });
    });

    it('writes nothing when a transaction throws', async () => {
      await withStore(async (store, recorded) => {
        await expect(
          store.transaction(async (writer) => {
            await writer.put([taskRow('t1', 'Half')]);
            await writer.record([change('01J00000000000000000000001', 't1')]);
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await store.get('tasks', 't1')).toBeUndefined();
        expect(await recorded()).toEqual([]);
      });
    });

    it('keeps recorded changes in the order they were recorded', async () => {
      await withStore(async (store, recorded) => {
        await store.transaction((writer) =>
          writer.record([
            change('01J00000000000000000000002', 'x'),
            change('01J00000000000000000000001', 'y'),
          ]),
        );
        await store.transaction((writer) =>
          writer.record([change('01J00000000000000000000003', 'z')]),
        );
        expect((await recorded()).map((item) => item.rowId)).toEqual(['x', 'y', 'z']);
      });
    });

    it('tells a transaction the newest stamp committed before it', async () => {
      await withStore(async (store) => {
        expect(await store.transaction((writer) => writer.latestStamp())).toBeUndefined();
        await store.transaction(async (writer) => {
          await writer.put([taskRow('t1', 'Buy milk')]);
          await writer.record([change('01J00000000000000000000001', 't1')]);
        });
        await store.transaction(async (writer) => {
          const older = taskRow('t2', 'Older');
          older.stamps = {
            title: '001600000000000-000000-dev_b',
            done: '001600000000000-000000-dev_b',
          };
          await writer.put([older]);
          await writer.record([
            { ...change('01J00000000000000000000002', 't2'), hlc: '001600000000000-000000-dev_b' },
          ]);
        });
        expect(await store.transaction((writer) => writer.latestStamp())).toBe(
          '001700000000000-000001-dev_a',
        );
      });
    });

    it('keeps all writes of concurrent transactions', async () => {
      await withStore(async (store) => {
        await Promise.all(
          Array.from({ length: 20 }, (_, index) =>
            store.transaction(async (writer) => {
              await writer.put([taskRow(`t${String(index).padStart(2, '0')}`, `Task ${index}`)]);
            }),
          ),
        );
        expect(await store.list('tasks')).toHaveLength(20);
      });
    });
  });
}
