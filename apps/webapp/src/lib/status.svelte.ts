import { engineClient } from './engine-client.ts';
import { statusChannelName, type EngineStatus } from './worker/engine-api.ts';

let status = $state<EngineStatus | null>(null);
let started = false;

/** The engine's status, kept fresh by the worker's broadcasts and a slow poll. Browser only. */
export function engineStatus(): {
  readonly current: EngineStatus | null;
  refresh(): Promise<void>;
} {
  if (!started) {
    started = true;
    const refresh = async () => {
      try {
        status = await engineClient().status();
      } catch (error) {
        console.error('[baton] status failed', error);
      }
    };
    void refresh();
    setInterval(() => void refresh(), 3_000);
    if (typeof BroadcastChannel !== 'undefined') {
      const channel = new BroadcastChannel(statusChannelName);
      channel.onmessage = (event: MessageEvent<EngineStatus>) => {
        if (event.data?.leader) status = event.data;
      };
    }
  }
  return {
    get current() {
      return status;
    },
    refresh: async () => {
      status = await engineClient().status();
    },
  };
}
