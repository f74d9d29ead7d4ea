/**
 * Starts the relay as a real process as `npm start` runs it (`node dist/main.mjs`, built first
 * when its sources changed; the pid is the server itself) and waits until it prints its "ready
 * at" line. For process-level tests and e2e fixtures. Stop it with `stop()` (SIGTERM, graceful)
 * or `kill()` (SIGKILL).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRelayBundle, relayPackageDir } from '../bundle.ts';
import { createTestPostgres, testDatabaseUrl, type TestDatabaseKind } from './test-database.ts';

export { relayPackageDir };

export interface RelayProcess {
  url: string;
  pid: number;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export async function startRelayProcess(options: {
  env: Record<string, string>;
  timeoutMs?: number;
}): Promise<RelayProcess> {
  const bundle = await ensureRelayBundle();
  const child = spawn(process.execPath, [bundle], {
    cwd: relayPackageDir,
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => resolveExit(code)),
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`relay did not start in time:\n${output}`)),
      options.timeoutMs ?? 30_000,
    );
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /Baton relay ready at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    exited,
  };
}

/**
 * The environment of a relay process on a fresh database of this kind: a new PGlite folder in
 * the temp folder (`DATA_DIR`; remove it afterwards), or the emptied test PostgreSQL
 * (`DATABASE_URL`).
 */
export async function relayProcessEnv(
  kind: TestDatabaseKind,
  env: Record<string, string>,
): Promise<Record<string, string>> {
  if (kind === 'postgres') {
    await (await createTestPostgres()).close(); // empties the tables
    return { ...env, DATABASE_URL: testDatabaseUrl! };
  }
  return { ...env, DATA_DIR: mkdtempSync(join(tmpdir(), 'baton-relay-')) };
}
