/**
 * A real relay process started the way `npm start` runs it (`node dist/main.mjs`, PGlite on disk
 * in a fresh data folder), serving the built webapp. Journeys use it through fixtures.ts; the
 * browser bench (bench/browser-bench.ts) starts one too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureRelayBundle } from '@baton/relay/bundle';
import { createPgliteDatabase } from '@baton/relay/pglite-folder';
import { freePort } from './free-port.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Relay {
  url: string;
  token: string;
  dataDir: string;
  /** Everything the relay printed, for diagnosis. */
  output: () => string;
  stop: () => Promise<void>;
  start: () => Promise<void>;
}

async function waitForHealth(
  url: string,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  // Up to a minute: on a busy 2-core machine PGlite's first start takes 15 s or more.
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`relay exited (${child.exitCode}):\n${output()}`);
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wait) => setTimeout(wait, 100));
  }
  throw new Error(`relay did not become healthy:\n${output()}`);
}

/**
 * A data folder in which PGlite has created its database (and nothing more: no schema, no user),
 * made once per test process. Creating one takes 5-7 s on these machines; a copy, under 0.5 s.
 */
let createdDatabase: Promise<string> | undefined;
function createdDatabaseFolder(): Promise<string> {
  createdDatabase ??= (async () => {
    const folder = mkdtempSync(join(tmpdir(), 'baton-e2e-created-'));
    process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
    await createPgliteDatabase(folder);
    return folder;
  })();
  return createdDatabase;
}

/**
 * Starts a relay process the way `npm start` does, on a fresh data folder: an empty one (the
 * relay creates the database, as on a first start), or with `copyCreatedDatabase` a copy of one
 * where PGlite has created it already (the relay then migrates it and adds the first user, as on
 * a first start; only PGlite's own creation step, the same for every folder, is skipped).
 */
export async function startRelay(options: {
  modelUrl: string;
  env?: Record<string, string>;
  copyCreatedDatabase?: boolean;
  /**
   * Keeps the relay's own tick interval and log level, as `npm start` runs it (the benches),
   * instead of the journeys' 1 s ticks and warnings only.
   */
  ownDefaults?: boolean;
}): Promise<Relay> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-e2e-'));
  if (options.copyCreatedDatabase)
    cpSync(await createdDatabaseFolder(), dataDir, { recursive: true });
  const token = 'e2e_token_0123456789abcdef';
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  let child: ChildProcess | undefined;
  const start = async () => {
    const bundle = await ensureRelayBundle();
    child = spawn(process.execPath, [bundle], {
      cwd: join(repoRoot, 'packages/relay'),
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        OPENAI_BASE_URL: options.modelUrl,
        OPENAI_API_KEY: 'test-key',
        BATON_MODEL: 'scripted-model',
        BATON_FIRST_TOKEN: token,
        WEBAPP_DIR: join(repoRoot, 'apps/webapp/build'),
        ...(options.ownDefaults ? {} : { TICK_INTERVAL_MS: '1000', LOG_LEVEL: 'warn' }),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await waitForHealth(url, child, () => log);
  };
  const stop = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((done) => running.once('exit', done));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return { url, token, dataDir, output: () => log, stop, start };
}
