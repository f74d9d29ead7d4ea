import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared.ts';

export default defineConfig({
  plugins: [sveltekit()],
  // The engine SharedWorker is an ES module worker (it imports Dexie, comlink and the engine).
  worker: { format: 'es' },
  test: { include: ['src/**/*.test.ts'], ...sharedTestOptions },
});
