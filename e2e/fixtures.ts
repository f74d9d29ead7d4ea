/**
 * Journey fixtures that read as user steps: a scripted model server (real HTTP, counting calls),
 * a real relay process serving the built webapp on embedded PGlite, and helpers for what a
 * person does in the app.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, expect, type Locator, type Page } from '@playwright/test';
import { createModelServer, type ChatRequestBody, type ModelServer } from '@baton/relay/testing';

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

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function waitForHealth(
  url: string,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
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

/** Starts a relay process the way `npm start` does, on a fresh data folder. */
export async function startRelay(options: {
  modelUrl: string;
  env?: Record<string, string>;
}): Promise<Relay> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-e2e-'));
  const token = 'e2e_token_0123456789abcdef';
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
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
        TICK_INTERVAL_MS: '1000',
        LOG_LEVEL: 'warn',
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

/** Requests that opened a planning run: no tool results yet. One per planned slot. */
export function planningRuns(model: ModelServer): ChatRequestBody[] {
  return model.calls.filter((body) => !body.messages.some((message) => message.role === 'tool'));
}

export const test = base.extend<{ model: ModelServer; relay: Relay }>({
  // Playwright reads a fixture's dependencies from its first parameter, so it must be a pattern.
  // eslint-disable-next-line no-empty-pattern
  model: async ({}, use) => {
    const model = await createModelServer();
    await use(model);
    await model.close();
  },
  relay: async ({ model }, use, testInfo) => {
    const relay = await startRelay({ modelUrl: model.url });
    await use(relay);
    await relay.stop();
    if (testInfo.status !== testInfo.expectedStatus)
      await testInfo.attach('relay.log', { body: relay.output() });
    rmSync(relay.dataDir, { recursive: true, force: true });
  },
});

export { expect };

/** Opens the app and signs in with the relay's token, as a person does on a new device. */
export async function signIn(page: Page, relay: Relay): Promise<void> {
  await page.goto(`${relay.url}/settings`);
  await page.getByLabel('Token').fill(relay.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-connection', 'online', {
    timeout: 15_000,
  });
}

/** Creates a mission through the form: every hour (or a cron), allowed to list and create tasks. */
export async function createMission(
  page: Page,
  options: { title: string; objective: string; cron?: string },
): Promise<Locator> {
  await page.getByRole('link', { name: 'Missions', exact: true }).click();
  await page.getByLabel('Title').fill(options.title);
  await page.getByLabel('Objective').fill(options.objective);
  if (options.cron) {
    await page.getByLabel('Repeats').selectOption('cron');
    await page.getByLabel('Cron expression').fill(options.cron);
  } else {
    await page.getByLabel('Every (minutes)').fill('60');
  }
  await page.getByRole('checkbox', { name: 'list_tasks' }).check();
  await page.getByRole('checkbox', { name: 'create_task' }).check();
  await page.getByRole('button', { name: 'Create mission' }).click();
  const mission = page.getByTestId('mission').filter({ hasText: options.title });
  await expect(mission).toBeVisible();
  return mission;
}

/** The inbox card of a pending proposal whose text contains `text`. */
export function proposalCard(page: Page, text: string): Locator {
  return page.getByTestId('proposal').filter({ hasText: text });
}
