/**
 * `npm start` / `node --import tsx src/main.ts`: reads the environment, starts the relay, prints
 * where it is (and the first user's token, once), and shuts down gracefully on SIGTERM/SIGINT.
 */
import { readConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startRelay } from './start-relay.ts';

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
const logger = createLogger({ level: config.logLevel });

let relay: Awaited<ReturnType<typeof startRelay>>;
try {
  relay = await startRelay({ config, logger });
} catch (error) {
  logger.fatal({ err: error }, 'the relay could not start');
  process.stderr.write(`The relay could not start: ${(error as Error).message}\n`);
  process.exit(1);
}

const lines = [''];
if (relay.createdToken) {
  lines.push(
    'A first user was created. Sign in with this token (it is shown only this once):',
    '',
    `    ${relay.createdToken}`,
    '',
    `Open ${relay.url} and paste it into the sign-in form. More users: npm run relay -- user add NAME`,
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
