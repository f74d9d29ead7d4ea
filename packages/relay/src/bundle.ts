/**
 * The relay as `npm start` runs it: `src/main.ts` and the engine bundled by esbuild into one
 * JavaScript file, `dist/main.mjs`, that plain `node` runs. Running the TypeScript through tsx
 * instead kept tsx's loader in a second V8 isolate for the relay's whole life: about 70 MB of
 * the idle relay's 160 MB (decision 0013). Packages from node_modules stay outside the file and
 * load as usual; only the workspace's own packages (`@baton/*`) go in.
 *
 * `ensureRelayBundle()` rebuilds only when the file is missing or one of the sources it was made
 * from changed since, so tests that start many relays build once. Builds running at the same
 * time (test workers) each write a file of their own and rename it into place. A stack trace
 * from the running relay names lines of `dist/main.mjs`; esbuild writes each source file's path
 * as a comment above its code there.
 */
import { build, type Plugin } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const relayPackageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const relayBundlePath = join(relayPackageDir, 'dist', 'main.mjs');
const inputsPath = join(relayPackageDir, 'dist', 'main.inputs.json');

/** Bare imports stay imports, except the workspace's own packages, which are TypeScript. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@baton/') ? undefined : { path: args.path, external: true },
    );
  },
};

/** Whether `dist/main.mjs` exists and none of the sources it was made from changed since. */
function upToDate(): boolean {
  if (!existsSync(relayBundlePath) || !existsSync(inputsPath)) return false;
  const builtAt = statSync(relayBundlePath).mtimeMs;
  let inputs: unknown;
  try {
    inputs = JSON.parse(readFileSync(inputsPath, 'utf8'));
  } catch {
    return false;
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return false;
  return inputs.every((input) => {
    if (typeof input !== 'string') return false;
    try {
      return statSync(input).mtimeMs <= builtAt;
    } catch {
      return false;
    }
  });
}

/** Builds `dist/main.mjs` from `src/main.ts` and the engine. */
export async function buildRelayBundle(): Promise<string> {
  mkdirSync(dirname(relayBundlePath), { recursive: true });
  const unique = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const temporary = `${relayBundlePath}.${unique}.tmp`;
  const result = await build({
    entryPoints: [join(relayPackageDir, 'src/main.ts')],
    outfile: temporary,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    plugins: [externalPackages],
    absWorkingDir: relayPackageDir,
    metafile: true,
    logLevel: 'error',
    legalComments: 'none',
  });
  const inputs = Object.keys(result.metafile.inputs).map((input) =>
    resolve(relayPackageDir, input),
  );
  const inputsTemporary = `${inputsPath}.${unique}.tmp`;
  writeFileSync(inputsTemporary, JSON.stringify(inputs));
  // The bundle first, then its inputs: a reader that sees the new inputs sees the new bundle.
  renameSync(temporary, relayBundlePath);
  renameSync(inputsTemporary, inputsPath);
  return relayBundlePath;
}

/** The bundle's path, built first when it is missing or older than its sources. */
export async function ensureRelayBundle(): Promise<string> {
  if (upToDate()) return relayBundlePath;
  return buildRelayBundle();
}
