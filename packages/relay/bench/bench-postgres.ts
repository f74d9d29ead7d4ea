/**
 * A PostgreSQL database of the bench's own: created on the server of TEST_DATABASE_URL, or of
 * the cluster `scripts/postgres.sh start` starts (Debian's PostgreSQL), and dropped at the end.
 * DATABASE_URL is never used, so a relay's data is never touched. `close()` drops the database
 * and stops the cluster if this bench started it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { findRepoRoot } from '../src/config.ts';

export interface BenchPostgres {
  url: string;
  close(): Promise<void>;
}

/** Undefined (with the reason on stdout) when no PostgreSQL can be had. */
export async function openBenchPostgres(): Promise<BenchPostgres | undefined> {
  const root = findRepoRoot();
  const marker = join(root, '.tmp/postgres-started-by-script');
  const startedBefore = existsSync(marker);
  let serverUrl = process.env.TEST_DATABASE_URL || undefined;
  let startedHere = false;
  if (!serverUrl) {
    try {
      const output = execFileSync('bash', [join(root, 'scripts/postgres.sh'), 'start'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      serverUrl = /export TEST_DATABASE_URL=(\S+)/.exec(output)?.[1];
      startedHere = !startedBefore && existsSync(marker);
    } catch (error) {
      process.stdout.write(
        `postgres   skipped: scripts/postgres.sh start failed: ${String(error)}\n`,
      );
      return undefined;
    }
  }
  if (!serverUrl) {
    process.stdout.write(
      'postgres   skipped: no PostgreSQL (set TEST_DATABASE_URL, or run as root so scripts/postgres.sh can start one)\n',
    );
    return undefined;
  }
  const name = `baton_bench_${process.pid}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (error) {
    await admin.end();
    process.stdout.write(
      `postgres   skipped: cannot create a bench database (${(error as Error).message})\n`,
    );
    return undefined;
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async close() {
      await dropDatabase(admin, name);
      await admin.end();
      if (startedHere) execFileSync('bash', [join(root, 'scripts/postgres.sh'), 'stop']);
    },
  };
}

/**
 * Drops the bench's database. `with (force)` ends the sessions still on it, but a role that is
 * not a superuser may not end an autovacuum worker (the bench's big tables often have one at
 * the end: "must be a member of the role whose process is being terminated"). A plain drop then
 * asks autovacuum to stop and waits for it, so it is tried a few times. A database that still
 * cannot be dropped is named, not thrown: the run's figures are what matter.
 */
async function dropDatabase(admin: postgres.Sql, name: string): Promise<void> {
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    return;
  } catch {
    // Below: without force.
  }
  let failure: unknown;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      await admin.unsafe(`drop database if exists ${name}`);
      return;
    } catch (error) {
      failure = error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  process.stdout.write(
    `postgres   note: the bench database ${name} was left on the server (${(failure as Error).message})\n`,
  );
}
