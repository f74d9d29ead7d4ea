/**
 * `npm start` / `node --import tsx src/main.ts`: reads the environment, starts the relay, prints
 * where it is (and the first user's token, once), and shuts down gracefully on SIGTERM/SIGINT.
 */
import { mkdirSync } from 'node:fs';
import {
  adminFilePath,
  loopbackUrl,
  newAdminSecret,
  processRuns,
  readAdminFile,
  removeAdminFile,
  writeAdminFile,
  type AdminFile,
} from './admin/admin-file.ts';
import { databaseInfo } from './admin/database-info.ts';
import { readConfig } from './config.ts';
import { limitHeapGrowth } from './heap.ts';
import { pgliteDatabaseExists } from './db/pglite-folder.ts';
import { createLogger, defaultLogFormat } from './logger.ts';
import { startRelay } from './start-relay.ts';

limitHeapGrowth();
const parsed = readConfig();
if (!parsed.ok) {
  for (const problem of parsed.problems) process.stderr.write(`Invalid setting ${problem}\n`);
  process.stderr.write(
    'The relay did not start: fix the settings above (environment variables) and try again.\n',
  );
  process.exit(1);
}
const { config, notes } = parsed;
for (const note of notes) process.stdout.write(`${note}\n`);
const logger = createLogger({
  level: config.logLevel,
  format: config.logFormat ?? defaultLogFormat(),
});

// With PGlite only this process may open the data folder: the CLI manages users through this
// relay's admin endpoint, found (with its secret) in DATA_DIR/admin.json. The file is written
// before the folder is opened, so a CLI started meanwhile waits instead of opening it too.
const adminSecret = newAdminSecret();
const adminFile: AdminFile | undefined =
  config.databaseUrl === undefined
    ? {
        pid: process.pid,
        url: null,
        secret: adminSecret,
        database: databaseInfo(config),
        startedAt: Date.now(),
      }
    : undefined;
// Removed on every exit but SIGKILL; a file left behind names a pid that no longer runs.
if (adminFile) process.once('exit', () => removeAdminFile(config.dataDir, adminSecret));

let relay: Awaited<ReturnType<typeof startRelay>>;
try {
  if (adminFile) {
    mkdirSync(config.dataDir, { recursive: true });
    const holder = readAdminFile(config.dataDir);
    if (holder && processRuns(holder.pid))
      throw new Error(
        `another relay (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''}) uses ${config.dataDir}; PGlite allows one process per data folder. Stop it first (or remove ${adminFilePath(config.dataDir)} if no relay runs).`,
      );
    writeAdminFile(config.dataDir, adminFile);
    // Creating PostgreSQL's files in WebAssembly takes several seconds, with nothing else to say.
    if (!pgliteDatabaseExists(config.dataDir))
      process.stdout.write(
        `Creating the database in ${config.dataDir} (first start on this folder: a few seconds)...\n`,
      );
  }
  relay = await startRelay({ config, logger, adminSecret });
  if (adminFile)
    writeAdminFile(config.dataDir, { ...adminFile, url: loopbackUrl(config.host, relay.port) });
} catch (error) {
  logger.fatal({ err: error }, 'the relay could not start');
  process.stderr.write(`The relay could not start: ${(error as Error).message}\n`);
  process.exit(1);
}

const lines = [''];
if (relay.createdToken) {
  lines.push(
    `A first user, "${relay.firstUserName}", was created (USER_NAME names it). Sign in with this token (it is shown only this once):`,
    '',
    `    ${relay.createdToken}`,
    '',
    `Open ${relay.url} and paste it into the sign-in form. More users and tokens: npm run relay -- --help`,
    '',
  );
}
lines.push(
  `Baton relay ready at ${relay.url}`,
  `  database: ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.dataDir}`}`,
  `  model: ${config.model ? `${config.model.name} at ${config.model.baseUrl}` : 'not configured (set OPENAI_BASE_URL or OPENAI_API_KEY to let the relay plan)'}`,
  `  instance: ${relay.instanceId} (this process holds claims as ${relay.holder})`,
  '',
);
process.stdout.write(lines.join('\n'));

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    process.stderr.write('Second signal: exiting now.\n');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'shutting down');
  // The runner drains for up to 10 s and live sockets get 1 s to answer; never hang past that.
  setTimeout(() => {
    logger.error('shutdown took longer than 20 s: exiting now');
    process.exit(1);
  }, 20_000).unref();
  try {
    await relay.close();
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
