import { defaultProxySettings, type RelayConfig } from '../config.ts';

/** A relay config for tests: a free port on loopback, no model, silent logs, no webapp. */
export function testConfig(overrides: Partial<RelayConfig> = {}): RelayConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    dataDir: '/nonexistent/data',
    databaseUrl: undefined,
    model: undefined,
    tickIntervalMs: 60_000,
    graceMs: 120_000,
    liveIdleMs: 60_000,
    modelConcurrency: 4,
    proxy: defaultProxySettings,
    claimTtlMs: 5 * 60_000,
    claimReleaseGraceMs: 10_000,
    webappDir: '/nonexistent/webapp/build',
    firstToken: 'first-token-0123456789abcdef',
    firstUserName: 'me',
    instanceId: 'relay_test',
    logLevel: 'silent',
    logFormat: undefined,
    ...overrides,
  };
}
