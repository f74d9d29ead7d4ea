/**
 * A PGlite data folder: whether it holds a database, and creating one. Apart from the rest of
 * the PGlite adapter so that the relay's start (main.ts) and the journeys' fixtures can use it
 * without loading PGlite.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The relay package, where `@electric-sql/pglite` resolves from: the nearest folder above this
 * module with a package.json (this file runs from `src/db/` under tsx and vitest, and from
 * `dist/` bundled).
 */
const packageDir = (() => {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, 'package.json')) && dirname(folder) !== folder) {
    folder = dirname(folder);
  }
  return folder;
})();

/** Whether `dataDir` holds a PGlite database already (`openPglite` creates one when not). */
export function pgliteDatabaseExists(dataDir: string): boolean {
  return existsSync(join(dataDir, 'PG_VERSION'));
}

/**
 * Creates the database in `dataDir` in a short-lived process of its own: PGlite's initdb grows
 * the process by about 450 MB that it never gives back, which a relay started on an empty folder
 * then carried for as long as it ran.
 */
export async function createPgliteDatabase(dataDir: string): Promise<void> {
  const script = `import { PGlite } from '@electric-sql/pglite';
const db = await PGlite.create(process.argv[1]);
await db.close();`;
  await new Promise<void>((resolveCreated, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, dataDir], {
      cwd: packageDir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let errors = '';
    child.stderr.on('data', (data: Buffer) => (errors += String(data)));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolveCreated()
        : reject(new Error(`Could not create the database in ${dataDir}: ${errors.trim()}`)),
    );
  });
}
