/**
 * `npm run relay -- user add NAME` (prints a new user's token once), `user list`,
 * `user token NAME` (a new extra token for an existing user). Uses the same DATA_DIR /
 * DATABASE_URL as the relay; with PGlite, stop the relay first (one process per data folder).
 */
import { mkdirSync } from 'node:fs';
import { readConfig } from './config.ts';
import { addToken, createUser, findUserByName, listUsers, newToken } from './auth/users.ts';
import { openDatabase } from './db/open-database.ts';

const usage = `usage:
  npm run relay -- user add NAME      create a user and print their token
  npm run relay -- user token NAME    print a new extra token for a user
  npm run relay -- user list          list users`;

async function run(args: string[]): Promise<number> {
  const [group, command, name] = args;
  if (
    group !== 'user' ||
    !['add', 'list', 'token'].includes(command ?? '') ||
    (command !== 'list' && !name)
  ) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const parsed = readConfig();
  if (!parsed.ok) {
    for (const problem of parsed.problems) process.stderr.write(`Invalid setting ${problem}\n`);
    return 1;
  }
  const { config } = parsed;
  if (config.databaseUrl === undefined) mkdirSync(config.dataDir, { recursive: true });
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    if (command === 'list') {
      const users = await listUsers({ db });
      process.stdout.write(
        users.length === 0
          ? 'No users yet.\n'
          : users.map((user) => `${user.name}\t${user.id}\n`).join(''),
      );
      return 0;
    }
    if (command === 'add') {
      if (await findUserByName({ db, name: name! })) {
        process.stderr.write(
          `A user named "${name}" already exists; use: npm run relay -- user token ${name}\n`,
        );
        return 1;
      }
      const { token } = await createUser({ db, name: name! });
      process.stdout.write(
        `Created user "${name}". Their token (shown only this once):\n\n    ${token}\n\n`,
      );
      return 0;
    }
    const user = await findUserByName({ db, name: name! });
    if (!user) {
      process.stderr.write(`No user named "${name}".\n`);
      return 1;
    }
    const token = newToken();
    await addToken({ db, userId: user.id, token });
    process.stdout.write(`New token for "${name}" (shown only this once):\n\n    ${token}\n\n`);
    return 0;
  } finally {
    await db.close();
  }
}

process.exitCode = await run(process.argv.slice(2));
