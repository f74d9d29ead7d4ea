import { describeStoreContract } from '@baton/engine/testing';
import { describe, it } from 'vitest';
import type { Change } from '@baton/engine';
import { createTestDatabase, testDatabaseUrl } from '../testing/test-database.ts';
import { pullChanges } from './change-log.ts';
import { createSqlStore } from './sql-store.ts';

function contractOn(kind: 'pglite' | 'postgres') {
  return async () => {
    const db = await createTestDatabase(kind);
    const userId = 'u_contract';
    const store = createSqlStore({ db }).forUser(userId);
    const recorded = async (): Promise<Change[]> =>
      (await pullChanges(db, { userId, since: '0', limit: 10_000 })).changes;
    return { store, recorded, cleanup: () => db.close() };
  };
}

describeStoreContract('sql on PGlite', contractOn('pglite'));

if (testDatabaseUrl) {
  describeStoreContract('sql on PostgreSQL', contractOn('postgres'));
} else {
  describe('Store contract: sql on PostgreSQL', () => {
    it.skip('skipped: set TEST_DATABASE_URL (scripts/postgres.sh start) to run it', () =>
      undefined);
  });
}
