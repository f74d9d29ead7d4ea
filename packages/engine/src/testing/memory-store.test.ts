import { createMemoryStore } from './memory-store.ts';
import { describeStoreContract } from './store-contract.ts';

describeStoreContract('memory', async () => {
  const store = createMemoryStore();
  return { store, recorded: async () => [...store.recorded] };
});
