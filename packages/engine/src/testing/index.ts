export { createMemoryStore, type MemoryStore } from './memory-store.ts';
export { createFixedClock, createSequentialIds, type FixedClock } from './fixed-clock.ts';
export { describeStoreContract } from './store-contract.ts';
export {
  createScriptedModel,
  replySequence,
  type ScriptedModel,
  type ScriptedReply,
} from './scripted-model.ts';
export { createMemoryClaims } from './memory-claims.ts';
export { createReplica, createLink, syncUntilQuiet, type Replica, type Link } from './replicas.ts';
