/**
 * `npm run relay -- backup FILE` and `restore FILE [--force]`: the whole relay database as JSON
 * lines (backup/backup-file.ts), on PGlite or PostgreSQL.
 *   - backup: through the running relay's admin endpoint when a relay holds the PGlite folder
 *     (only its process may open it); otherwise on the database directly. Written aside and
 *     renamed, so FILE is only ever a whole backup; an existing FILE needs --force.
 *   - restore: never under a running relay (it would keep serving what it had cached); into an
 *     empty database (a new PGlite folder is created), or with --force over everything in it.
 */
import { createReadStream, existsSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { isEngineError } from '@baton/engine';
import { loopbackUrl, processRuns, readAdminFile } from '../admin/admin-file.ts';
import { databaseInfo, describeDatabase, sameDatabase } from '../admin/database-info.ts';
import { BackupEndSchema, writeBackup } from '../backup/backup-file.ts';
import { restoreBackup } from '../backup/restore-backup.ts';
import type { RelayConfig } from '../config.ts';
import { openDatabase } from '../db/open-database.ts';
import { adminPath } from '../http/admin-routes.ts';
import { probeRelayDatabase } from './admin-client.ts';

type Config = Pick<RelayConfig, 'databaseUrl' | 'dataDir' | 'port' | 'host'>;

export interface BackupCommand {
  command: 'backup' | 'restore';
  file: string;
  force: boolean;
  config: Config;
  out: (text: string) => void;
  err: (text: string) => void;
}

function summary(rows: Record<string, number>): string {
  const total = Object.values(rows).reduce((sum, count) => sum + count, 0);
  const each = Object.entries(rows)
    .filter(([, count]) => count > 0)
    .map(([table, count]) => `${table} ${count}`)
    .join(', ');
  return `${total} rows${each ? ` (${each})` : ''}`;
}

/** The relay holding this PGlite folder, if one runs. */
function runningHolder(config: Config) {
  if (config.databaseUrl !== undefined) return undefined;
  const holder = readAdminFile(config.dataDir);
  return holder && processRuns(holder.pid) ? holder : undefined;
}

async function backupThroughRelay(
  holder: { url: string; secret: string },
  write: (text: string) => Promise<void>,
): Promise<Record<string, number>> {
  const response = await fetch(`${holder.url}${adminPath}/backup`, {
    headers: { authorization: `Bearer ${holder.secret}` },
  });
  if (!response.ok || !response.body)
    throw new Error(`The relay at ${holder.url} answered ${response.status} to the backup.`);
  const decoder = new TextDecoder();
  let tail = '';
  for await (const chunk of response.body) {
    const text = decoder.decode(chunk as Uint8Array, { stream: true });
    tail = (tail + text).slice(-100_000);
    await write(text);
  }
  // The end line proves the relay wrote it all.
  const lastLine = tail.trimEnd().split('\n').at(-1) ?? '';
  const end = BackupEndSchema.safeParse(JSON.parse(lastLine || 'null'));
  if (!end.success) throw new Error('The relay stopped before the end of the backup.');
  return end.data.rows;
}

async function backup(options: BackupCommand): Promise<number> {
  const { config, file, out, err } = options;
  if (existsSync(file) && !options.force) {
    err(`${file} exists; name another file, or add --force to replace it.\n`);
    return 1;
  }
  const ours = databaseInfo(config);
  const holder = runningHolder(config);
  if (holder?.url === null) {
    err(
      `The relay (pid ${holder.pid}) is starting on ${describeDatabase(ours)}; try again in a moment.\n`,
    );
    return 1;
  }
  if (!holder && ours.kind === 'pglite' && !existsSync(config.dataDir)) {
    err(`There is no relay data in ${config.dataDir}: set DATA_DIR to the relay's data folder.\n`);
    return 1;
  }
  const partial = `${file}.partial`;
  const handle = await open(partial, 'w', 0o600);
  const write = async (text: string) => void (await handle.write(text));
  let rows: Record<string, number>;
  try {
    if (holder?.url) {
      err(`Using the relay at ${holder.url} (pid ${holder.pid}), ${describeDatabase(ours)}.\n`);
      rows = await backupThroughRelay({ url: holder.url, secret: holder.secret }, write);
    } else {
      err(`Using ${describeDatabase(ours)} directly.\n`);
      const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        rows = await writeBackup({ db, write });
      } finally {
        await db.close();
      }
    }
    await handle.close();
  } catch (error) {
    await handle.close();
    rmSync(partial, { force: true });
    throw error;
  }
  renameSync(partial, file);
  out(`Backed up ${summary(rows)} to ${file}.\n`);
  return 0;
}

/** The lines of a file, read as they are asked for (nothing is read before the first). */
async function* fileLines(file: string): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of createReadStream(file, 'utf8')) {
    const lines = (rest + String(chunk)).split('\n');
    rest = lines.pop() ?? '';
    yield* lines;
  }
  if (rest !== '') yield rest;
}

async function restore(options: BackupCommand): Promise<number> {
  const { config, file, out, err } = options;
  if (!existsSync(file)) {
    err(`There is no file ${file}.\n`);
    return 1;
  }
  const ours = databaseInfo(config);
  const holder = runningHolder(config);
  if (holder) {
    err(
      `The relay (pid ${holder.pid}) holds ${describeDatabase(ours)}. Stop it, restore, then start it again.\n`,
    );
    return 1;
  }
  if (config.port !== 0) {
    const url = loopbackUrl(config.host, config.port);
    const theirs = await probeRelayDatabase(url);
    if (theirs && sameDatabase(theirs, ours)) {
      err(
        `The relay at ${url} uses ${describeDatabase(ours)}. Stop every relay on it, restore, then start them again.\n`,
      );
      return 1;
    }
  }
  err(`Restoring into ${describeDatabase(ours)}.\n`);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const lines = fileLines(file);
    const restored = await restoreBackup({ db, lines, force: options.force });
    out(
      `Restored ${summary(restored.rows)} from ${file} (a ${restored.header.database} backup of ${restored.header.createdAt}).\n`,
    );
    return 0;
  } catch (error) {
    if (!isEngineError(error)) throw error;
    err(`${file} was not restored: ${error.message}\n`);
    return 1;
  } finally {
    await db.close();
  }
}

/** Runs one backup command; the exit code as runCli's (0 done, 1 failed). */
export function runBackupCommand(options: BackupCommand): Promise<number> {
  return options.command === 'backup' ? backup(options) : restore(options);
}
