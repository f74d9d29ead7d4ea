// @baton/relay: the relay as a library (for e2e fixtures and benches). `src/main.ts` runs it.
export { createApp, livePath, type AppOptions, type RelayApp } from './app.ts';
export { readConfig, type RelayConfig, type ConfigResult } from './config.ts';
export { startRelay, defaultInstanceId, type RunningRelay } from './start-relay.ts';
export { createSqlStore, type SqlStore } from './store/sql-store.ts';
export { openDatabase } from './db/open-database.ts';
export type { Database, SqlRunner } from './db/database.ts';
export { createUser, listUsers, type User } from './auth/users.ts';
export { hashToken } from './auth/tokens.ts';
export { createLiveHub, type LiveHub, type DevicePresence } from './live/live-hub.ts';
export {
  createRelayRunner,
  type RelayRunner,
  type RunnerTickReport,
} from './runner/relay-runner.ts';
