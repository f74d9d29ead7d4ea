import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Database } from '../db/database.ts';
import { getRow } from '../store/rows-table.ts';
import { describeOn } from '../testing/describe-on-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
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

  it('refuses a version it does not know, naming the ones it restores, and restores nothing', async () => {
    const later = versionOne.replace('"version":1', '"version":3');
    await expect(restoreBackup({ db, lines: linesOf(later), force: false })).rejects.toThrow(
      /restores backups of version 1 or 2/,
    );
    expect(await db.query('select * from users')).toEqual([]);
  });
});
