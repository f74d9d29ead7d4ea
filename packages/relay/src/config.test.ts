import { describe, expect, it } from 'vitest';
import { findRepoRoot, readConfig } from './config.ts';

describe('readConfig', () => {
  it('uses defaults: port 8787, data and webapp under the repo root, no model', () => {
    const result = readConfig({});
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const root = findRepoRoot();
    expect(result.config).toMatchObject({
      port: 8787,
      host: '0.0.0.0',
      dataDir: `${root}/data`,
      webappDir: `${root}/apps/webapp/build`,
      model: undefined,
      tickIntervalMs: 15_000,
      graceMs: 120_000,
      liveIdleMs: 60_000,
      modelConcurrency: 4,
    });
  });

  it('configures the model from OPENAI_BASE_URL, with the key and model name', () => {
    const result = readConfig({
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/',
      OPENAI_API_KEY: 'k',
      BATON_MODEL: 'llama3.2',
    });
    expect(result.ok && result.config.model).toEqual({
      baseUrl: 'http://127.0.0.1:11434/v1',
      apiKey: 'k',
      name: 'llama3.2',
      timeoutMs: 120_000,
    });
  });

  it('names every bad value on its own line', () => {
    const result = readConfig({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x',
      TICK_INTERVAL_MS: '5',
      LOG_LEVEL: 'loud',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(4);
    expect(result.problems.join('\n')).toContain('PORT="eighty": must be a whole number');
    expect(result.problems.join('\n')).toContain(
      'DATABASE_URL="mysql://x": must start with postgres:// or postgresql://',
    );
  });
});
