/**
 * The relay's settings, read from the environment once at start and validated with zod. Every
 * bad value gets its own line naming the variable; `main.ts` prints them and exits 1.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserNameSchema } from './auth/users.ts';
import { redactUrlCredentials } from '@baton/engine/openai';

/** The monorepo root: the nearest folder above this file with a package-lock.json. */
export function findRepoRoot(start: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let folder = start; ; folder = dirname(folder)) {
    if (existsSync(resolve(folder, 'package-lock.json'))) return folder;
    if (dirname(folder) === folder) return process.cwd();
  }
}

const integer = (fallback: number, minimum: number, maximum: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .default(String(fallback))
    .transform(Number)
    .pipe(
      z
        .number()
        .min(minimum, `must be at least ${minimum}`)
        .max(maximum, `must be at most ${maximum}`),
    );

/** A whole number in range, or undefined when the variable is unset or empty. */
const optionalInteger = (minimum: number, maximum: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .pipe(
      z
        .string()
        .regex(/^\d+$/, 'must be a whole number')
        .transform(Number)
        .pipe(
          z
            .number()
            .min(minimum, `must be at least ${minimum}`)
            .max(maximum, `must be at most ${maximum}`),
        )
        .optional(),
    );

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const urlText = (protocols: string[]) =>
  optionalText.refine(
    (value) => value === undefined || protocols.some((protocol) => value.startsWith(protocol)),
    `must start with ${protocols.join(' or ')}`,
  );

/** What the model proxy allows each user; the defaults of the PROXY_* and MODEL_MAX_TOKENS settings. */
export interface ProxySettings {
  /** Models a proxied call may name besides the default BATON_MODEL (BATON_MODELS). */
  extraModels: string[];
  /** Largest `max_tokens` / `max_completion_tokens` forwarded; larger asks are lowered to it. */
  maxTokens: number;
  /** Proxied calls one user may have in flight at once, per relay process. */
  maxInFlight: number;
  /** Proxied calls one user may start in any 60 s, per relay process. */
  callsPerMinute: number;
  /** Tokens (prompt + completion, from the endpoint's `usage`) one user may use per UTC day. */
  tokensPerDay: number;
}

export const defaultProxySettings: ProxySettings = {
  extraModels: [],
  maxTokens: 4096,
  maxInFlight: 4,
  callsPerMinute: 60,
  tokensPerDay: 2_000_000,
};

/** A comma-separated list of model names (spaces around commas and empty entries ignored). */
const modelList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  )
  .refine(
    (names) => names.every((name) => /^\S{1,200}$/.test(name)),
    'must be model names separated by commas (no spaces)',
  );

export const ConfigSchema = z.object({
  PORT: integer(8787, 0, 65_535),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  DATA_DIR: optionalText,
  DATABASE_URL: urlText(['postgres://', 'postgresql://']),
  OPENAI_BASE_URL: urlText(['http://', 'https://']).refine(
    (value) => value === undefined || !/^[a-z]+:\/\/[^/]*@/i.test(value),
    'must not carry credentials (user:password@): fetch refuses such URLs; put the key in OPENAI_API_KEY',
  ),
  OPENAI_API_KEY: optionalText,
  BATON_MODEL: optionalText,
  BATON_MODELS: modelList,
  MODEL_MAX_TOKENS: integer(defaultProxySettings.maxTokens, 1, 10_000_000),
  PROXY_MAX_IN_FLIGHT: integer(defaultProxySettings.maxInFlight, 1, 10_000),
  PROXY_CALLS_PER_MINUTE: integer(defaultProxySettings.callsPerMinute, 1, 1_000_000),
  PROXY_TOKENS_PER_DAY: integer(defaultProxySettings.tokensPerDay, 1, 1_000_000_000_000),
  TICK_INTERVAL_MS: integer(15_000, 100, 3_600_000),
  GRACE_MS: integer(120_000, 0, 86_400_000),
  LIVE_IDLE_MS: integer(60_000, 1_000, 3_600_000),
  MODEL_CONCURRENCY: integer(4, 1, 256),
  MODEL_TIMEOUT_MS: integer(120_000, 1_000, 3_600_000),
  CLAIM_TTL_MS: optionalInteger(1_000, 3_600_000),
  CLAIM_RELEASE_GRACE_MS: integer(10_000, 0, 3_600_000),
  MAX_REQUESTS_IN_FLIGHT: integer(64, 1, 100_000),
  MAX_USER_REQUESTS_IN_FLIGHT: integer(16, 1, 100_000),
  LIVE_MAX_PER_USER: integer(20, 1, 10_000),
  USER_MAX_CHANGES: integer(5_000_000, 1, Number.MAX_SAFE_INTEGER),
  USER_MAX_BYTES: integer(5 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
  METRICS_TOKEN: optionalText.refine(
    (value) => value === undefined || value.length >= 16,
    'must be at least 16 characters',
  ),
  CORS_ORIGINS: optionalText.refine(
    (value) =>
      value === undefined ||
      value.split(',').every((origin) => /^https?:\/\/[^/\s]+$/.test(origin.trim())),
    'must be a comma-separated list of origins like https://app.example.com (no path)',
  ),
  WEBAPP_DIR: optionalText,
  BATON_FIRST_TOKEN: optionalText.refine(
    (value) => value === undefined || value.length >= 16,
    'must be at least 16 characters',
  ),
  USER_NAME: optionalText.pipe(UserNameSchema.optional()),
  INSTANCE_ID: optionalText.refine(
    (value) => value === undefined || /^[A-Za-z0-9_.:]{1,64}$/.test(value),
    'must match [A-Za-z0-9_.:]{1,64}',
  ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
});

export interface RelayConfig {
  port: number;
  host: string;
  /** Absolute path of the PGlite data folder (unused when `databaseUrl` is set). */
  dataDir: string;
  databaseUrl: string | undefined;
  /** The relay's model endpoint; undefined when no model is configured. */
  model: { baseUrl: string; apiKey: string; name: string; timeoutMs: number } | undefined;
  tickIntervalMs: number;
  /** A slot overdue by more than this is planned by the relay even when a device is connected. */
  graceMs: number;
  /** A live connection that sends nothing this long is closed (clients ping every 20 s). */
  liveIdleMs: number;
  modelConcurrency: number;
  /** What the model proxy (`/v1/llm`) allows each user. */
  proxy: ProxySettings;
  /**
   * How long a claim on an iteration id (and a taken due entry) lasts, in ms: a relay that dies
   * mid-tick holds its slots this long before another instance plans them.
   */
  claimTtlMs: number;
  /**
   * How long after a device host's live connection ended (without it coming back) the relay
   * releases the claims that host holds, so a slot a closed browser was planning is planned
   * at once rather than when its lease runs out.
   */
  claimReleaseGraceMs: number;
  /** API requests in flight at most (503 beyond), and of one user (429 beyond). */
  maxRequestsInFlight?: number;
  maxUserRequestsInFlight?: number;
  /** Live connections of one user at most (a new one beyond is closed with 4029). */
  liveMaxPerUser?: number;
  /** What one user may store: changes in the log, and their bytes (413 beyond). */
  userMaxChanges?: number;
  userMaxBytes?: number;
  /** `GET /metrics` from other than loopback needs `Authorization: Bearer <this>`. */
  metricsToken?: string | undefined;
  /** Origins (besides the relay's own) whose pages may call `/v1` from a browser. */
  corsOrigins?: readonly string[];
  /** Absolute path of the built webapp. */
  webappDir: string;
  firstToken: string | undefined;
  /** The name of the user a fresh database starts with (USER_NAME, default the OS user). */
  firstUserName: string;
  /** Names this process in claims, HLC stamps and iteration runners. */
  instanceId: string | undefined;
  logLevel: z.infer<typeof ConfigSchema>['LOG_LEVEL'];
  /** `pretty` or `json`; unset: pretty on a terminal, JSON otherwise. */
  logFormat: 'pretty' | 'json' | undefined;
}

/** The OpenAI API, used when OPENAI_API_KEY is set without OPENAI_BASE_URL (as the SDK does). */
export const openAiBaseUrl = 'https://api.openai.com/v1';

/** This process's OS user name (the default first user), or "me" when it has none usable. */
function osUserName(): string {
  try {
    const parsed = UserNameSchema.safeParse(userInfo().username);
    return parsed.success ? parsed.data : 'me';
  } catch {
    return 'me';
  }
}

export type ConfigResult =
  | {
      ok: true;
      config: RelayConfig;
      /** One line each, worth printing at start (e.g. which model endpoint is used and why). */
      notes: string[];
    }
  | { ok: false; problems: string[] };

/**
 * Parses the environment; never throws. DATA_DIR and WEBAPP_DIR given relative resolve against the
 * working directory; their defaults live at the repo root (`data/`, `apps/webapp/build`).
 */
export function readConfig(
  environment: Record<string, string | undefined> = process.env,
): ConfigResult {
  const parsed = ConfigSchema.safeParse(environment);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) =>
        `${issue.path.join('.')}=${JSON.stringify(redactUrlCredentials(environment[String(issue.path[0])] ?? ''))}: ${issue.message}`,
    );
    return { ok: false, problems };
  }
  const values = parsed.data;
  const root = findRepoRoot();
  const notes: string[] = [];
  let baseUrl = values.OPENAI_BASE_URL;
  if (baseUrl === undefined && values.OPENAI_API_KEY !== undefined) {
    baseUrl = openAiBaseUrl;
    notes.push(
      `OPENAI_API_KEY is set without OPENAI_BASE_URL: planning with the OpenAI API at ${openAiBaseUrl} (set OPENAI_BASE_URL for another endpoint).`,
    );
  }
  const model =
    baseUrl === undefined
      ? undefined
      : {
          baseUrl: baseUrl.replace(/\/+$/, ''),
          apiKey: values.OPENAI_API_KEY ?? 'not-needed',
          name: values.BATON_MODEL ?? 'gpt-4o-mini',
          timeoutMs: values.MODEL_TIMEOUT_MS,
        };
  // A claim must outlive the model call made under it, or another runner could plan the slot too.
  if (values.CLAIM_TTL_MS !== undefined && values.CLAIM_TTL_MS <= values.MODEL_TIMEOUT_MS) {
    return {
      ok: false,
      problems: [
        `CLAIM_TTL_MS=${JSON.stringify(environment.CLAIM_TTL_MS)}: must be longer than MODEL_TIMEOUT_MS (${values.MODEL_TIMEOUT_MS}), so a claim outlives the model call made under it`,
      ],
    };
  }
  const claimTtlMs = values.CLAIM_TTL_MS ?? Math.max(5 * 60_000, 2 * values.MODEL_TIMEOUT_MS);
  return {
    ok: true,
    config: {
      port: values.PORT,
      host: values.HOST,
      dataDir: values.DATA_DIR === undefined ? resolve(root, 'data') : resolve(values.DATA_DIR),
      databaseUrl: values.DATABASE_URL,
      model,
      tickIntervalMs: values.TICK_INTERVAL_MS,
      graceMs: values.GRACE_MS,
      liveIdleMs: values.LIVE_IDLE_MS,
      modelConcurrency: values.MODEL_CONCURRENCY,
      proxy: {
        extraModels: values.BATON_MODELS,
        maxTokens: values.MODEL_MAX_TOKENS,
        maxInFlight: values.PROXY_MAX_IN_FLIGHT,
        callsPerMinute: values.PROXY_CALLS_PER_MINUTE,
        tokensPerDay: values.PROXY_TOKENS_PER_DAY,
      },
      claimTtlMs,
      claimReleaseGraceMs: values.CLAIM_RELEASE_GRACE_MS,
      maxRequestsInFlight: values.MAX_REQUESTS_IN_FLIGHT,
      maxUserRequestsInFlight: values.MAX_USER_REQUESTS_IN_FLIGHT,
      liveMaxPerUser: values.LIVE_MAX_PER_USER,
      userMaxChanges: values.USER_MAX_CHANGES,
      userMaxBytes: values.USER_MAX_BYTES,
      metricsToken: values.METRICS_TOKEN,
      corsOrigins:
        values.CORS_ORIGINS?.split(',')
          .map((origin) => origin.trim().replace(/\/+$/, ''))
          .filter((origin) => origin !== '') ?? [],
      webappDir:
        values.WEBAPP_DIR === undefined
          ? resolve(root, 'apps/webapp/build')
          : resolve(values.WEBAPP_DIR),
      firstToken: values.BATON_FIRST_TOKEN,
      firstUserName: values.USER_NAME ?? osUserName(),
      instanceId: values.INSTANCE_ID,
      logLevel: values.LOG_LEVEL,
      logFormat: values.LOG_FORMAT,
    },
    notes,
  };
}
