import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
  kit: {
    // A single-page app: the relay serves 200.html for every unknown path.
    adapter: adapter({ fallback: '200.html' }),
    serviceWorker: { register: true },
    // Ask the server now and then whether a newer build is out (`updated` in $app/state); the
    // status bar then offers a reload instead of code changing under an open tab.
    version: { pollInterval: 5 * 60_000 },
  },
};

export default config;
