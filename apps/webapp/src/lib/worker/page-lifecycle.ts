/**
 * What a page tells its SharedWorker about itself, beside the EngineApi calls: it is going
 * (pagehide) or back from the back/forward cache (pageshow). The worker stops leading once no
 * page is left (engine.worker.ts).
 */
export const pageGoneMessage = 'baton:page-gone';
export const pageBackMessage = 'baton:page-back';

/** Sends `pageGoneMessage` and `pageBackMessage` on `port` as the page goes and comes back. */
export function reportPageLifecycle(port: MessagePort): void {
  addEventListener('pagehide', () => port.postMessage({ type: pageGoneMessage }));
  addEventListener('pageshow', (event) => {
    if ((event as PageTransitionEvent).persisted) port.postMessage({ type: pageBackMessage });
  });
}
