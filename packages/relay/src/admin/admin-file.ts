/**
 * DATA_DIR/admin.json: how the CLI finds the relay that holds a PGlite data folder and proves
 * it may manage it. The relay writes it (mode 0600: only its OS user can read the secret) before
 * it opens the folder, with `url: null`; again once it listens, with the loopback address of its
 * admin endpoint; and removes it when it stops. A file left by a relay that was killed names a
 * pid that no longer runs, and is ignored.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DatabaseInfoSchema } from './admin-schemas.ts';

export const adminFileName = 'admin.json';

export const AdminFileSchema = z.object({
  pid: z.number().int(),
  /** `http://127.0.0.1:PORT` once the relay listens; null while it starts. */
  url: z.string().nullable(),
  secret: z.string().min(32),
  database: DatabaseInfoSchema,
  /** Epoch ms. */
  startedAt: z.number(),
});
export type AdminFile = z.infer<typeof AdminFileSchema>;

export function adminFilePath(dataDir: string): string {
  return join(dataDir, adminFileName);
}

export function newAdminSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Writes the file whole (aside, then renamed), readable by this OS user only. */
export function writeAdminFile(dataDir: string, file: AdminFile): void {
  const path = adminFilePath(dataDir);
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(partial, path);
}

/**
 * The file in `dataDir`, or undefined when there is none. A file that cannot be read or parsed
 * is an error naming it (the CLI must not guess whether a relay holds the folder).
 */
export function readAdminFile(dataDir: string): AdminFile | undefined {
  const path = adminFilePath(dataDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return AdminFileSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new Error(`${path} is not a relay's admin file; remove it if no relay runs.`, {
      cause: error,
    });
  }
}

/** Removes the file if it is still this process's (a newer relay may have replaced it). */
export function removeAdminFile(dataDir: string, secret: string): void {
  try {
    if (readAdminFile(dataDir)?.secret === secret) rmSync(adminFilePath(dataDir));
  } catch {
    // Gone already, or not ours to remove.
  }
}

/** Whether a process with this pid runs (and is not this one, which never holds the file). */
export function processRuns(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another OS user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The loopback address of a relay listening on `host:port`, for its admin endpoint. */
export function loopbackUrl(host: string, port: number): string {
  return host === '::1' ? `http://[::1]:${port}` : `http://127.0.0.1:${port}`;
}
