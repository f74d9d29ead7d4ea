import { describeStoreContract } from '@baton/engine/testing';
import type { Change } from '@baton/engine';
import { describeOn } from '../testing/describe-on-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
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
describeOn('postgres', 'the sql store contract', () =>
  describeStoreContract('sql on PostgreSQL', contractOn('postgres')),
);
