import { describe, expect, it } from 'vitest';
import { defaultProxySettings, findRepoRoot, openAiBaseUrl, readConfig } from './config.ts';

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
      claimTtlMs: 300_000,
      claimReleaseGraceMs: 10_000,
      proxy: {
        extraModels: [],
        maxTokens: 4096,
        maxInFlight: 4,
        callsPerMinute: 60,
        tokensPerDay: 2_000_000,
      },
    });
    expect(result.config.proxy).toEqual(defaultProxySettings);
    expect(result.notes).toEqual([]);
  });

  it('plans with the OpenAI API when only OPENAI_API_KEY is set, and says so in one line', () => {
    const result = readConfig({ OPENAI_API_KEY: 'sk-test' });
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.model).toEqual({
      baseUrl: openAiBaseUrl,
      apiKey: 'sk-test',
      name: 'gpt-4o-mini',
      timeoutMs: 120_000,
    });
    expect(result.notes).toHaveLength(1);
    expect(result.notes[0]).toContain(`OPENAI_API_KEY is set without OPENAI_BASE_URL`);
    expect(result.notes[0]).toContain(openAiBaseUrl);
  });

  it('takes the claim lifetime from CLAIM_TTL_MS, and refuses one shorter than a model call', () => {
    const set = readConfig({ CLAIM_TTL_MS: '3000', MODEL_TIMEOUT_MS: '2000' });
    expect(set.ok && set.config.claimTtlMs).toBe(3_000);
    const longCalls = readConfig({ MODEL_TIMEOUT_MS: '600000' });
    expect(longCalls.ok && longCalls.config.claimTtlMs).toBe(1_200_000);
    const tooShort = readConfig({ CLAIM_TTL_MS: '60000' });
    expect(tooShort.ok).toBe(false);
    expect(!tooShort.ok && tooShort.problems).toEqual([
      'CLAIM_TTL_MS="60000": must be longer than MODEL_TIMEOUT_MS (120000), so a claim outlives the model call made under it',
    ]);
    const notANumber = readConfig({ CLAIM_TTL_MS: 'soon' });
    expect(!notANumber.ok && notANumber.problems).toEqual([
      'CLAIM_TTL_MS="soon": must be a whole number',
    ]);
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

  it('reads LOG_FORMAT (pretty or json) and refuses anything else', () => {
    const pretty = readConfig({ LOG_FORMAT: 'pretty' });
    expect(pretty.ok && pretty.config.logFormat).toBe('pretty');
    const unset = readConfig({});
    expect(unset.ok && unset.config.logFormat).toBeUndefined();
    const bad = readConfig({ LOG_FORMAT: 'yaml' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.join('\n')).toContain('LOG_FORMAT="yaml"');
  });

  it('reads the model proxy settings: extra models and per-user limits', () => {
    const result = readConfig({
      BATON_MODELS: ' llama3.2:latest , meta-llama/Llama-3-8B,,',
      MODEL_MAX_TOKENS: '2048',
      PROXY_MAX_IN_FLIGHT: '2',
      PROXY_CALLS_PER_MINUTE: '30',
      PROXY_TOKENS_PER_DAY: '500000',
    });
    expect(result.ok && result.config.proxy).toEqual({
      extraModels: ['llama3.2:latest', 'meta-llama/Llama-3-8B'],
      maxTokens: 2048,
      maxInFlight: 2,
      callsPerMinute: 30,
      tokensPerDay: 500_000,
    });
    const bad = readConfig({ BATON_MODELS: 'a b', PROXY_MAX_IN_FLIGHT: '0' });
    expect(!bad.ok && bad.problems).toEqual([
      'BATON_MODELS="a b": must be model names separated by commas (no spaces)',
      'PROXY_MAX_IN_FLIGHT="0": must be at least 1',
    ]);
  });

  it('refuses an OPENAI_BASE_URL carrying credentials, without printing them', () => {
    const result = readConfig({
      OPENAI_BASE_URL: 'https://relayuser:hunter2-pass@models.example/v1',
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toHaveLength(1);
    const line = !result.ok ? (result.problems[0] ?? '') : '';
    expect(line).toContain('OPENAI_BASE_URL="https://[redacted]@models.example/v1"');
    expect(line).toContain('OPENAI_API_KEY');
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain('relayuser');
  });
});
