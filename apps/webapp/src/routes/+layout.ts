// A client-only app: data lives in IndexedDB and the engine in a SharedWorker.
export const ssr = false;
export const prerender = false;
