/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * The offline app shell: the built app and static files are cached at install; page loads try the
 * network first and fall back to the cached shell (200.html), so the app opens without the relay.
 * The API (/v1/*) and the build's version file are never cached.
 *
 * Updates wait: a new service worker activates on its own only when none was active before.
 * Otherwise it waits until a tab asks it to (`{type: 'skip-waiting'}`, sent when the person
 * presses "Reload" on the "new version" notice), so code never changes under an open tab.
 */
import { build, files, version } from '$service-worker';
import { installProposalNotices } from '$lib/notify/service-worker-notices.ts';

const sw = self as unknown as ServiceWorkerGlobalScope;
const cacheName = `baton-shell-${version}`;
const shellPath = '/200.html';
const versionFile = /\/_app\/version\.json$/;
const precache = [...build, ...files, shellPath].filter((path) => !versionFile.test(path));

installProposalNotices(sw);

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(cacheName);
      await cache.addAll(precache);
      // The first install has nothing to replace; an update waits for the person (see above).
      if (!sw.registration.active) await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('message', (event) => {
  const data: unknown = event.data;
  if (
    typeof data === 'object' &&
    data !== null &&
    (data as { type?: unknown }).type === 'skip-waiting'
  )
    void sw.skipWaiting();
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== cacheName) await caches.delete(key);
      await sw.clients.claim();
    })(),
  );
});

async function fromNetworkOrShell(request: Request): Promise<Response> {
  try {
    const response = await fetch(request);
    if (response.ok) return response;
    const cached = await caches.match(shellPath);
    return cached ?? response;
  } catch (error) {
    const cached = await caches.match(shellPath);
    if (cached) return cached;
    throw error;
  }
}

async function fromCacheOrNetwork(request: Request): Promise<Response> {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === 'basic') await cache.put(request, response.clone());
  return response;
}

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (
    url.origin !== sw.location.origin ||
    url.pathname.startsWith('/v1/') ||
    url.pathname === '/health' ||
    url.pathname === '/metrics' ||
    versionFile.test(url.pathname)
  )
    return;
  if (request.mode === 'navigate') {
    event.respondWith(fromNetworkOrShell(request));
    return;
  }
  if (precache.includes(url.pathname) || url.pathname.startsWith('/_app/immutable/')) {
    event.respondWith(fromCacheOrNetwork(request));
  }
});
