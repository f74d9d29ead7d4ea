/**
 * `npm run build -w @baton/relay`: writes `dist/main.mjs`, the relay as `npm start` runs it
 * (see bundle.ts). `--if-changed` skips the build when the file is newer than its sources.
 */
import { relative } from 'node:path';
import { buildRelayBundle, ensureRelayBundle } from './bundle.ts';

const started = performance.now();
const path = process.argv.includes('--if-changed')
  ? await ensureRelayBundle()
  : await buildRelayBundle();
const took = Math.round(performance.now() - started);
console.log(`relay bundle: ${relative(process.cwd(), path)} (${took} ms)`);
