import 'fake-indexeddb/auto';
import { describeStoreContract } from '@baton/engine/testing';
import { openDatabase } from './database.ts';
import { createDexieStore, readOutbox } from './dexie-store.ts';

let counter = 0;

describeStoreContract('dexie', async () => {
  counter += 1;
  const db = openDatabase(`baton-test-${counter}`);
  return {
    store: createDexieStore(db),
    recorded: async () => (await readOutbox(db)).map((entry) => entry.change),
    cleanup: () => db.delete(),
  };
});
