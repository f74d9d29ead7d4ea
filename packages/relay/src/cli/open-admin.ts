/**
 * Decides where the CLI's commands run, and says so:
 *   - PGlite with a relay holding the folder (DATA_DIR/admin.json names a running pid): through
 *     that relay's admin endpoint, since only one process may open the folder;
 *   - otherwise on the database itself (PostgreSQL takes many connections; the relays hear of a
 *     revoked token through NOTIFY).
 * It refuses when a relay answers on PORT with another database than the one the CLI would use
 * (the usual slip: DATA_DIR set for `npm start` but not for the CLI), and when a PGlite folder
 * does not exist (it would otherwise create an empty database there).
 */
import { existsSync } from 'node:fs';
import type { AdminActions } from '../admin/admin-actions.ts';
import { createAdminActions } from '../admin/admin-actions.ts';
import { adminFilePath, loopbackUrl, processRuns, readAdminFile } from '../admin/admin-file.ts';
import type { DatabaseInfo } from '../admin/admin-schemas.ts';
import { databaseInfo, describeDatabase, sameDatabase } from '../admin/database-info.ts';
import { modelFromConfig } from '../admin/replay-action.ts';
import type { RelayConfig } from '../config.ts';
import { openDatabase } from '../db/open-database.ts';
import { createAdminClient, probeRelayDatabase } from './admin-client.ts';

export type AdminTarget =
  | {
      ok: true;
      actions: AdminActions;
      /** One line: where the commands run ("the relay at …, PGlite in …"). */
      description: string;
      close(): Promise<void>;
    }
  | { ok: false; problem: string };

function otherDatabase(url: string, theirs: DatabaseInfo, ours: DatabaseInfo): string {
  const setting =
    theirs.kind === 'pglite' ? `DATA_DIR=${theirs.location}` : 'DATABASE_URL to its database';
  return (
    `The relay at ${url} uses ${describeDatabase(theirs)}, but this command would use ` +
    `${describeDatabase(ours)}. Set ${setting} to manage that relay's users, ` +
    `or PORT to a free port to manage this database.`
  );
}

export async function openAdmin(
  config: Pick<RelayConfig, 'databaseUrl' | 'dataDir' | 'port' | 'host' | 'model'>,
): Promise<AdminTarget> {
  const ours = databaseInfo(config);

  if (ours.kind === 'pglite') {
    const holder = readAdminFile(config.dataDir);
    if (holder && processRuns(holder.pid)) {
      if (holder.url === null)
        return {
          ok: false,
          problem: `The relay (pid ${holder.pid}) is starting on ${describeDatabase(ours)}; try again in a moment.`,
        };
      const theirs = await probeRelayDatabase(holder.url);
      if (!theirs)
        return {
          ok: false,
          problem:
            `The relay (pid ${holder.pid}) holds ${describeDatabase(ours)} but does not answer ` +
            `at ${holder.url}. Try again when it answers, or stop it (remove ` +
            `${adminFilePath(config.dataDir)} only if no relay runs).`,
        };
      if (!sameDatabase(theirs, ours))
        return { ok: false, problem: otherDatabase(holder.url, theirs, ours) };
      return {
        ok: true,
        actions: createAdminClient({ url: holder.url, secret: holder.secret }),
        description: `the relay at ${holder.url} (pid ${holder.pid}), ${describeDatabase(ours)}`,
        close: async () => undefined,
      };
    }
  }

  // No relay holds our folder (or we use PostgreSQL): is one running on PORT with another one?
  if (config.port !== 0) {
    const url = loopbackUrl(config.host, config.port);
    const theirs = await probeRelayDatabase(url);
    if (theirs && !sameDatabase(theirs, ours))
      return { ok: false, problem: otherDatabase(url, theirs, ours) };
    if (theirs && ours.kind === 'pglite')
      return {
        ok: false,
        problem: `The relay at ${url} uses ${describeDatabase(ours)}, but ${adminFilePath(config.dataDir)} is missing: restart the relay to write it again.`,
      };
  }

  if (ours.kind === 'pglite' && !existsSync(config.dataDir))
    return {
      ok: false,
      problem:
        `There is no relay data in ${config.dataDir}. Start the relay once (npm start) to create ` +
        `it, or set DATA_DIR to the relay's data folder.`,
    };
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  return {
    ok: true,
    actions: createAdminActions({ db, model: modelFromConfig(config.model) }),
    description:
      ours.kind === 'pglite'
        ? `${describeDatabase(ours)} (no relay holds it: acting on the database directly)`
        : `${describeDatabase(ours)} (acting on the database directly; running relays hear of revoked tokens)`,
    close: () => db.close(),
  };
}
