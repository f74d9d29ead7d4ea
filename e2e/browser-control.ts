/**
 * What Playwright cannot do to a browser by itself: take a whole device offline (its pages, its
 * SharedWorker and its service worker, including workers that start later) and freeze a tab the
 * way a browser freezes a background tab (the page and its dedicated worker stop running).
 */
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import WebSocket from 'ws';
import config from './playwright.config.ts';
import { freePort } from './free-port.ts';

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  sessionId?: string;
  error?: { message: string };
  result?: Record<string, unknown>;
}

/** A raw (flattened) CDP connection to the browser, which Playwright's CDPSession cannot give. */
class RawCdp {
  private nextId = 0;
  private readonly pending = new Map<number, (message: CdpMessage) => void>();
  private readonly listeners = new Set<(message: CdpMessage) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as CdpMessage;
      if (message.id !== undefined) this.pending.get(message.id)?.(message);
      else for (const listener of this.listeners) listener(message);
    });
  }

  static async connect(port: number): Promise<RawCdp> {
    const version = (await (await fetch(`http://127.0.0.1:${port}/json/version`)).json()) as {
      webSocketDebuggerUrl: string;
    };
    const socket = new WebSocket(version.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return new RawCdp(socket);
  }

  on(listener: (message: CdpMessage) => void): void {
    this.listeners.add(listener);
  }

  async send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    this.nextId += 1;
    const id = this.nextId;
    const answered = new Promise<CdpMessage>((resolve) => this.pending.set(id, resolve));
    this.socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    const answer = await answered;
    this.pending.delete(id);
    if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
    return answer.result ?? {};
  }

  close(): void {
    this.socket.close();
  }
}

const conditions = (offline: boolean) => ({
  offline,
  latency: 0,
  downloadThroughput: -1,
  uploadThroughput: -1,
});

/** A browser whose devices (contexts) can go offline as a whole. */
export interface DeviceBrowser {
  browser: Browser;
  /**
   * Takes the context offline: its pages (`context.setOffline`), and its SharedWorkers and
   * service worker through CDP, including ones that start while it is offline (they are held at
   * their first line until cut off).
   */
  setOffline(context: BrowserContext, offline: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Launches Chromium as the config does, plus a CDP port for `setOffline`. */
export async function launchDeviceBrowser(): Promise<DeviceBrowser> {
  const port = await freePort();
  const launch = config.use?.launchOptions ?? {};
  const browser = await chromium.launch({
    ...launch,
    args: [...(launch.args ?? []), `--remote-debugging-port=${port}`],
  });
  const cdp = await RawCdp.connect(port);
  const offlineContexts = new Set<string>();
  const workers = new Map<string, { sessionId: string; contextId: string }>();

  cdp.on((message) => {
    if (message.method === 'Target.attachedToTarget') {
      const params = message.params as {
        sessionId: string;
        targetInfo: { targetId: string; browserContextId: string };
        waitingForDebugger: boolean;
      };
      const { sessionId, targetInfo } = params;
      workers.set(targetInfo.targetId, { sessionId, contextId: targetInfo.browserContextId });
      void (async () => {
        await cdp.send('Network.enable', {}, sessionId);
        if (offlineContexts.has(targetInfo.browserContextId))
          await cdp.send('Network.emulateNetworkConditions', conditions(true), sessionId);
        if (params.waitingForDebugger)
          await cdp.send('Runtime.runIfWaitingForDebugger', {}, sessionId);
      })().catch((error: unknown) => console.error('[device-browser] attach failed', error));
    } else if (message.method === 'Target.detachedFromTarget') {
      const params = message.params as { targetId?: string };
      if (params.targetId) workers.delete(params.targetId);
    }
  });
  await cdp.send('Target.setAutoAttach', {
    autoAttach: true,
    waitForDebuggerOnStart: true,
    flatten: true,
    filter: [
      { type: 'shared_worker', exclude: false },
      { type: 'service_worker', exclude: false },
      { exclude: true },
    ],
  });

  async function contextId(context: BrowserContext): Promise<string> {
    const page = context.pages()[0];
    if (!page) throw new Error('the context needs an open page');
    const session = await context.newCDPSession(page);
    try {
      const { targetInfo } = await session.send('Target.getTargetInfo');
      if (!targetInfo.browserContextId) throw new Error('no browserContextId');
      return targetInfo.browserContextId;
    } finally {
      await session.detach();
    }
  }

  return {
    browser,
    async setOffline(context, offline) {
      const id = await contextId(context);
      if (offline) offlineContexts.add(id);
      else offlineContexts.delete(id);
      // Workers first when going online, so the page's `online` event finds them reachable.
      if (!offline) await context.setOffline(false);
      for (const worker of workers.values()) {
        if (worker.contextId !== id) continue;
        await cdp.send('Network.emulateNetworkConditions', conditions(offline), worker.sessionId);
      }
      if (offline) await context.setOffline(true);
    },
    async close() {
      cdp.close();
      await browser.close();
    },
  };
}

/**
 * Freezes a tab as a browser freezes a background tab: the page stops (`Page.setWebLifecycleState
 * frozen`) and so does its dedicated worker (paused in the debugger: Chromium's lifecycle
 * command alone leaves a page's workers running). Returns a function that thaws both.
 */
export async function freezeTab(page: Page): Promise<{ thaw: () => Promise<void> }> {
  const session = await page.context().newCDPSession(page);
  const workerSessions: string[] = [];
  const attached = new Promise<void>((resolve) => {
    session.on('Target.attachedToTarget', (event) => {
      if (event.targetInfo.type === 'worker') {
        workerSessions.push(event.sessionId);
        resolve();
      }
    });
  });
  await session.send('Target.setAutoAttach', {
    autoAttach: true,
    waitForDebuggerOnStart: false,
    flatten: false,
  });
  await attached;
  let nextId = 0;
  const sendToWorker = async (sessionId: string, method: string) => {
    nextId += 1;
    await session.send('Target.sendMessageToTarget', {
      sessionId,
      message: JSON.stringify({ id: nextId, method, params: {} }),
    });
  };
  for (const sessionId of workerSessions) {
    await sendToWorker(sessionId, 'Debugger.enable');
    await sendToWorker(sessionId, 'Debugger.pause');
  }
  await session.send('Page.setWebLifecycleState', { state: 'frozen' });
  return {
    thaw: async () => {
      await session.send('Page.setWebLifecycleState', { state: 'active' });
      for (const sessionId of workerSessions) {
        await sendToWorker(sessionId, 'Debugger.resume');
        await sendToWorker(sessionId, 'Debugger.disable');
      }
      await session.detach();
    },
  };
}
