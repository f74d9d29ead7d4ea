/**
 * "A new version of Baton is ready": found by SvelteKit's version poll (`updated`, see
 * `kit.version.pollInterval`), by a service worker update waiting to activate, or by the leading
 * engine host reporting a newer build. The new code never replaces the old under an open tab: the
 * service worker waits until the person chooses to reload (service-worker.ts).
 */
import { version } from '$app/environment';
import { updated } from '$app/state';

let waiting = $state.raw<ServiceWorker | null>(null);
let newerHost = $state(false);
let watching = false;

function watchRegistration(registration: ServiceWorkerRegistration): void {
  const note = () => {
    // Only an update: on the very first install there is no controller to replace.
    if (registration.waiting && navigator.serviceWorker.controller) waiting = registration.waiting;
  };
  note();
  registration.addEventListener('updatefound', () => {
    const installing = registration.installing;
    installing?.addEventListener('statechange', () => {
      if (installing.state === 'installed') note();
    });
  });
}

/** Starts watching for a newer build. Browser only; safe to call more than once. */
export function watchForUpdates(): void {
  if (watching || !('serviceWorker' in navigator)) return;
  watching = true;
  void navigator.serviceWorker.getRegistration().then((registration) => {
    if (registration) watchRegistration(registration);
  });
}

/** Called with the build a leading engine host reports; a later one means a newer app is open. */
export function noteHostVersion(hostVersion: string | null): void {
  if (hostVersion && Number(hostVersion) > Number(version)) newerHost = true;
}

/** Whether a newer build is ready; read in a component (it tracks `updated` reactively). */
export function updateAvailable(): boolean {
  return updated.current || waiting !== null || newerHost;
}

/** Activates the waiting service worker, if any, and reloads into the new version. */
export function applyUpdate(): void {
  const worker = waiting;
  if (!worker) {
    location.reload();
    return;
  }
  navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), {
    once: true,
  });
  worker.postMessage({ type: 'skip-waiting' });
  // If the new worker cannot take over (another tab holds it back), reload anyway.
  setTimeout(() => location.reload(), 3_000);
}
