import { formatHlc, mergeChanges, type Change, type StoredRow } from '@baton/engine';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../db/database.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { getRow, putRows, storedStamps, toStoredRow } from './rows-table.ts';

const stampAt = (wallMs: number, counter = 0, node = 'dev_a') =>
  formatHlc({ wallMs, counter, nodeId: node });

/** The row as a reader got it before rows kept one stamp: its fields and stamps through JSON. */
const asJson = (row: StoredRow): StoredRow => JSON.parse(JSON.stringify(row)) as StoredRow;

/** The row written the way `putRows` writes it and read back the way every reader reads it. */
const throughRowsTable = (row: StoredRow): StoredRow =>
  toStoredRow(
    JSON.parse(
      JSON.stringify({
        table_name: row.table,
        row_id: row.id,
        fields: row.fields,
        stamps: storedStamps(row),
      }),
    ),
  );

const change = (fields: Record<string, unknown>, hlc: string, rowId = 't1'): Change => ({
  id: `c_${hlc}_${Object.keys(fields).join('_')}`,
  table: 'tasks',
  rowId,
  fields,
  hlc,
  actor: { kind: 'user', deviceId: 'dev_a' },
  deviceId: 'dev_a',
});

describe('one stamp per row', () => {
  it('keeps a row written by one change as that change’s stamp, and gives it back to each field', () => {
    const hlc = stampAt(1_767_225_600_000);
    const [row] = mergeChanges(new Map(), [
      change({ title: 'Buy milk', done: false }, hlc),
    ]).values();
    expect(storedStamps(row!)).toBe(hlc);
    expect(throughRowsTable(row!).stamps).toEqual({
      title: hlc,
      done: hlc,
      _createdBy: hlc,
      _updatedBy: hlc,
    });
  });

  it('keeps the stamps by field once a later change wrote some of the fields', () => {
    const first = stampAt(1_767_225_600_000);
    const later = stampAt(1_767_225_660_000);
    const [row] = mergeChanges(new Map(), [
      change({ title: 'Buy milk', done: false }, first),
      change({ done: true }, later),
    ]).values();
    expect(storedStamps(row!)).toEqual({
      title: first,
      done: later,
      _createdBy: first,
      _updatedBy: later,
    });
    expect(throughRowsTable(row!)).toEqual(asJson(row!));
  });

  it('keeps the object when a stamped field has no value, or a field has no stamp', () => {
    const hlc = stampAt(1_767_225_600_000);
    const unvalued: StoredRow = {
      table: 'tasks',
      id: 't1',
      fields: { title: 'a', notes: undefined },
      stamps: { title: hlc, notes: hlc },
    };
    expect(storedStamps(unvalued)).toEqual(unvalued.stamps);
    const unstamped: StoredRow = {
      table: 'tasks',
      id: 't1',
      fields: { title: 'a', notes: 'b' },
      stamps: { title: hlc },
    };
    expect(storedStamps(unstamped)).toEqual(unstamped.stamps);
    expect(throughRowsTable(unstamped)).toEqual(asJson(unstamped));
  });

  it('refuses a stored stamp that is not an HLC stamp', () => {
    expect(() =>
      toStoredRow({ table_name: 'tasks', row_id: 't1', fields: { a: 1 }, stamps: 'yesterday' }),
    ).toThrow(/stored row is unreadable \(stamps/);
  });

  it('gives every reader the row it gave before, whatever changes merged into it', () => {
    const fieldName = fc.constantFrom('title', 'notes', 'done', 'dueAt');
    const value = fc.oneof(fc.string({ maxLength: 4 }), fc.boolean(), fc.constant(null));
    const changeArb = fc.record({
      fields: fc.dictionary(fieldName, value, { minKeys: 1, maxKeys: 4 }),
      wallMs: fc.integer({ min: 0, max: 3 }),
      node: fc.constantFrom('dev_a', 'dev_b', 'relay_1'),
    });
    fc.assert(
      fc.property(fc.array(changeArb, { minLength: 1, maxLength: 6 }), (written) => {
        const changes = written.map((one, index) => ({
          ...change(one.fields, stampAt(1_767_225_600_000 + one.wallMs, 0, one.node)),
          id: `c${index}`,
        }));
        const [row] = mergeChanges(new Map(), changes).values();
        expect(throughRowsTable(row!)).toEqual(asJson(row!));
      }),
      { numRuns: 500 },
    );
  });
});

describeOnEachDatabase('rows with one stamp', (kind) => {
  let db: Database;
  const userId = 'u_stamps';
  const hlc = stampAt(1_767_225_600_000);

  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await db.close();
  });

  it('stores a row written by one change with its stamp once, and reads it back whole', async () => {
    const [row] = mergeChanges(new Map(), [
      change({ title: 'Buy milk', done: false }, hlc),
    ]).values();
    await putRows(db, userId, [row!]);
    const [stored] = await db.query<{ stamps: unknown }>(
      'select stamps from rows where user_id = $1',
      [userId],
    );
    expect(stored?.stamps).toBe(hlc);
    expect(await getRow(db, userId, 'tasks', 't1')).toEqual(asJson(row!));
  });

  it('goes back to stamps by field when a later write changes some fields', async () => {
    const later = stampAt(1_767_225_660_000);
    const rows = mergeChanges(new Map(), [change({ title: 'Buy milk', done: false }, hlc)]);
    await putRows(db, userId, [...rows.values()]);
    mergeChanges(rows, [change({ done: true }, later)]);
    await putRows(db, userId, [...rows.values()]);
    const read = await getRow(db, userId, 'tasks', 't1');
    expect(read?.fields).toMatchObject({ title: 'Buy milk', done: true });
    expect(read?.stamps).toEqual({ title: hlc, done: later, _createdBy: hlc, _updatedBy: later });
  });

  it('reads rows stored with a stamp for each field, as earlier relays wrote them', async () => {
    await db.query(
      `insert into rows (user_id, table_name, row_id, fields, stamps) values ($1, 'tasks', 't1', $2::jsonb, $3::jsonb)`,
      [userId, JSON.stringify({ title: 'Old' }), JSON.stringify({ title: hlc })],
    );
    expect(await getRow(db, userId, 'tasks', 't1')).toEqual({
      table: 'tasks',
      id: 't1',
      fields: { title: 'Old' },
      stamps: { title: hlc },
    });
  });
});
