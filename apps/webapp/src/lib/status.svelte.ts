import { liveQuery } from 'dexie';
import { pageDb } from './db/page-db.ts';
import { engineClient, onEngineStart, type EngineStart } from './engine-client.ts';
import { EngineStatusSchema, statusChannelName, type EngineStatus } from './worker/engine-api.ts';

/** The leader repeats its status with every heartbeat (2 s); older than this, it has gone quiet. */
const leaderFreshMs = 8_000;
/** This tab's own worker is asked this often (it may be a follower, or the leader itself). */
const pollMs = 3_000;

let own = $state.raw<EngineStatus | null>(null);
let heard = $state.raw<{ status: EngineStatus; receivedAt: number } | null>(null);
let start = $state.raw<EngineStart>({ state: 'starting' });
let problem = $state<string | null>(null);
let outboxSize = $state<number | null>(null);
let refusedCount = $state(0);
let now = $state(Date.now());
let started = false;

/**
 * What the status bar shows. A follower's own sync is idle, so while a leader's broadcast is
 * fresh it speaks for the browser (this tab keeps its own host and `leader: false`); otherwise
 * the newest of what this tab's worker and the leader said.
 */
function view(): EngineStatus | null {
  const leader = heard && now - heard.receivedAt < leaderFreshMs ? heard.status : null;
  const base = !own
    ? leader
    : !leader
      ? own
      : !own.leader
        ? { ...leader, host: own.host, hostId: own.hostId, leader: false }
        : leader.at > own.at
          ? leader
          : own;
  // The outbox is read from IndexedDB directly: exact in every tab, right after every write.
  return base && outboxSize !== null ? { ...base, outboxSize } : base;
}

async function refresh(): Promise<void> {
  const result = await engineClient().status();
  now = Date.now();
  if (result.ok) {
    own = result.value;
    problem = null;
  } else {
    problem = result.error.message;
  }
}

function begin(): void {
  started = true;
  onEngineStart((next) => (start = next));
  void refresh();
  setInterval(() => void refresh(), pollMs);
  if (typeof BroadcastChannel !== 'undefined') {
    const channel = new BroadcastChannel(statusChannelName);
    channel.onmessage = (event: MessageEvent<unknown>) => {
      const parsed = EngineStatusSchema.safeParse(event.data);
      if (!parsed.success || !parsed.data.leader) return;
      now = Date.now();
      heard = { status: parsed.data, receivedAt: now };
    };
  }
  liveQuery(() => pageDb().outbox.count()).subscribe({
    next: (count) => (outboxSize = count),
    error: (error: unknown) => console.error('[baton] outbox count failed', error),
  });
  liveQuery(() => pageDb().refused.count()).subscribe({
    next: (count) => (refusedCount = count),
    error: (error: unknown) => console.error('[baton] refused count failed', error),
  });
  // The worker may not see the network change (workers get no online/offline events in every
  // browser): tell it, so it reconnects at once or shows offline at once.
  const tell = (online: boolean) => () => {
    void engineClient().networkChanged({ online });
    void refresh();
  };
  addEventListener('online', tell(true));
  addEventListener('offline', tell(false));
}

/**
 * The engine's status for this tab, kept fresh by the leader's broadcasts and a slow poll of
 * this tab's worker, plus how the engine started here and the last status error. Browser only.
 */
export function engineStatus(): {
  readonly current: EngineStatus | null;
  readonly start: EngineStart;
  /** The last status call's error (the worker answered with one), else null. */
  readonly problem: string | null;
  /** Changes of this device the relay refused (listed in Settings). */
  readonly refused: number;
  refresh(): Promise<void>;
} {
  if (!started) begin();
  return {
    get current() {
      return view();
    },
    get start() {
      return start;
    },
    get problem() {
      return problem;
    },
    get refused() {
      return refusedCount;
    },
    refresh,
  };
}
