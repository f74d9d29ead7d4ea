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
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
      if (startedHere) execFileSync('bash', [join(root, 'scripts/postgres.sh'), 'stop']);
    },
  };
}
