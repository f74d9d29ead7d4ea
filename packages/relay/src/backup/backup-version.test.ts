import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Database } from '../db/database.ts';
import { pullChanges } from '../store/change-log.ts';
import { getRow } from '../store/rows-table.ts';
import { describeOn } from '../testing/describe-on-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { createChangeFactory } from '../testing/test-relay.ts';
import { backupVersion, writeBackup } from './backup-file.ts';
import { restoreBackup } from './restore-backup.ts';

const stamp = '001767225600000-000000-dev_a';

async function* linesOf(text: string) {
  yield* text.split('\n');
}

/** A backup as a relay from before one stamp per row wrote it: version 1, stamps by field. */
const versionOne = [
  {
    format: 'baton-relay-backup',
    version: 1,
    createdAt: '2026-11-01T00:00:00.000Z',
    database: 'pglite',
    tables: ['users', 'rows'],
  },
  { table: 'users', row: { id: 'usr_1', name: 'ada', created_at: 1_767_225_600_000 } },
  {
    table: 'rows',
    row: {
      user_id: 'usr_1',
      table_name: 'tasks',
      row_id: 't1',
      fields: { title: 'Buy milk', done: false },
      stamps: { title: stamp, done: stamp },
    },
  },
  { end: true, rows: { users: 1, rows: 1 } },
]
  .map((line) => JSON.stringify(line))
  .join('\n');

describeOn('pglite', 'backup versions', () => {
  let db: Database;
  beforeEach(async () => {
    db = await createTestDatabase('pglite');
  });
  afterEach(async () => {
    await db.close();
  });

  it('writes version 2 and restores a backup of version 1, its rows read as they were', async () => {
    await restoreBackup({ db, lines: linesOf(versionOne), force: false });
    expect(await getRow(db, 'usr_1', 'tasks', 't1')).toEqual({
      table: 'tasks',
      id: 't1',
      fields: { title: 'Buy milk', done: false },
      stamps: { title: stamp, done: stamp },
    });
    let written = '';
    await writeBackup({ db, write: async (text) => void (written += text) });
    expect(JSON.parse(written.split('\n')[0]!)).toMatchObject({ version: backupVersion });
    expect(backupVersion).toBe(2);
  });

  it('restores the log of a relay from before pages (a row per change) into pages, pulled as it was', async () => {
    const made = createChangeFactory({ wallMs: 1_767_225_600_000 });
    const changes = [made('t1'), made('t2'), made('t3')];
    const change = (n: number) => changes[n - 1]!;
    const row = (seq: number, n: number) => ({
      table: 'changes',
      row: {
        seq,
        user_id: 'usr_1',
        user_seq: n,
        id: change(n).id,
        table_name: 'tasks',
        row_id: change(n).rowId,
        hlc: change(n).hlc,
        body: change(n),
        committed_at: 1_767_225_600_000,
      },
    });
    const before = [
      { ...JSON.parse(versionOne.split('\n')[0]!), version: 2, tables: ['users', 'changes'] },
      { table: 'users', row: { id: 'usr_1', name: 'ada', created_at: 1_767_225_600_000 } },
      row(1, 1),
      row(2, 2),
      row(5, 3),
      { end: true, rows: { users: 1, changes: 3 } },
    ]
      .map((line) => JSON.stringify(line))
      .join('\n');
    await restoreBackup({ db, lines: linesOf(before), force: false });
    expect(await db.query('select 1 from changes')).toEqual([]);
    const pulled = await pullChanges(db, { userId: 'usr_1', since: '0', limit: 10 });
    expect(pulled).toEqual({
      changes: [change(1), change(2), change(3)],
      cursor: 'u3',
      more: false,
    });
    // A cursor of the shared sequence the backed-up relay gave still reads.
    expect((await pullChanges(db, { userId: 'usr_1', since: '2', limit: 10 })).changes).toEqual([
      change(3),
    ]);
  });

  it('refuses a version it does not know, naming the ones it restores, and restores nothing', async () => {
    const later = versionOne.replace('"version":1', '"version":3');
    await expect(restoreBackup({ db, lines: linesOf(later), force: false })).rejects.toThrow(
      /restores backups of version 1 or 2/,
    );
    expect(await db.query('select * from users')).toEqual([]);
  });
});
