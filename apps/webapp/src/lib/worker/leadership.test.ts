import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type BatonDatabase } from '../db/database.ts';
import { createLeadership, type Every, type Leadership } from './leadership.ts';

let counter = 0;
const open: Array<{ db: BatonDatabase; hosts: Leadership[] }> = [];

afterEach(async () => {
  for (const { db, hosts } of open.splice(0)) {
    await Promise.all(hosts.map((host) => host.close()));
    await db.delete();
  }
});

/** A timer a test can freeze, as a browser freezes a background tab's worker. */
function freezableEvery(): { every: Every; frozen: { value: boolean } } {
  const frozen = { value: false };
  return {
    frozen,
    every: (task, ms) => {
      const timer = setInterval(() => frozen.value || task(), ms);
      return () => clearInterval(timer);
    },
  };
}

function browser() {
  counter += 1;
  const db = openDatabase(`leadership-test-${counter}`);
  const entry = { db, hosts: [] as Leadership[] };
  open.push(entry);
  const changes: string[] = [];
  const host = (hostId: string, every?: Every) => {
    const leadership = createLeadership({
      db,
      hostId,
      // Node has no Web Locks: this is the IndexedDB lease that browsers without them use.
      locks: undefined,
      onChange: (leading) => changes.push(`${hostId} ${leading ? 'leads' : 'stops'}`),
      heartbeatMs: 20,
      staleMs: 150,
      ...(every ? { every } : {}),
    });
    entry.hosts.push(leadership);
    return leadership;
  };
  return { db, host, changes };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await wait(10);
  }
}

describe('leadership without Web Locks (IndexedDB lease)', () => {
  it('lets exactly one of three hosts lead, and the next take over when it closes', async () => {
    const { host, changes } = browser();
    const hosts = [host('a'), host('b'), host('c')];
    await until(() => hosts.some((each) => each.isLeader()));
    await wait(100);
    expect(hosts.filter((each) => each.isLeader())).toHaveLength(1);
    const leader = hosts.find((each) => each.isLeader())!;
    await leader.close();
    const rest = hosts.filter((each) => each !== leader);
    await until(() => rest.some((each) => each.isLeader()));
    await wait(100);
    expect(rest.filter((each) => each.isLeader())).toHaveLength(1);
    expect(changes.filter((change) => change.endsWith('leads'))).toHaveLength(2);
  });

  it('replaces a frozen leader, which stops leading as soon as it wakes', async () => {
    const { host, changes } = browser();
    const clock = freezableEvery();
    const first = host('first', clock.every);
    await until(() => first.isLeader());
    const second = host('second');
    await wait(60);
    expect(second.isLeader()).toBe(false);

    clock.frozen.value = true;
    await until(() => second.isLeader());
    // Woken, but not yet heard from its own heartbeat: it must not act as leader.
    clock.frozen.value = false;
    expect(first.isLeader()).toBe(false);
    await until(() => changes.includes('first stops'));
    await wait(100);
    expect(first.isLeader()).toBe(false);
    expect(second.isLeader()).toBe(true);
    expect(changes).toEqual(['first leads', 'second leads', 'first stops']);
  });
});
