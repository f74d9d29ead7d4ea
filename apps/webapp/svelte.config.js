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
  },
};

export default config;
