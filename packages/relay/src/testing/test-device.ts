/**
 * A device for relay tests: the engine on a memory store, as the webapp hosts it, that pushes
 * what it recorded to a relay over HTTP and pulls what the relay has.
 */
import { createEngine, type Change, type LanguageModel, type MissionDraft } from '@baton/engine';
import {
  createFixedClock,
  createMemoryStore,
  createSequentialIds,
  type FixedClock,
} from '@baton/engine/testing';

export interface TestDevice {
  deviceId: string;
  clock: FixedClock;
  engine: ReturnType<typeof createEngine>;
  createMission(draft: Partial<MissionDraft>): Promise<string>;
  /** Pushes everything recorded since the last push, in pages of 1,000. */
  push(): Promise<void>;
  /** Pulls every change from the beginning. */
  pullAll(): Promise<Change[]>;
}

export function createTestDevice(options: {
  url: string;
  token: string;
  deviceId?: string;
  nowMs: number;
  /** The device's own model endpoint (none by default: the device does not plan). */
  model?: LanguageModel;
}): TestDevice {
  const deviceId = options.deviceId ?? 'dev_a';
  const store = createMemoryStore();
  const clock = createFixedClock(options.nowMs);
  const engine = createEngine({
    store,
    clock,
    ids: createSequentialIds('D'),
    nodeId: deviceId,
    runner: { kind: 'device', deviceId },
    ...(options.model ? { model: options.model } : {}),
  });
  let pushed = 0;
  const headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' };
  return {
    deviceId,
    clock,
    engine,
    createMission: (draft) =>
      engine.createMission({
        draft: {
          title: 'Daily plan',
          objective: 'Keep my week on track',
          schedule: { kind: 'manual' },
          ...draft,
        },
        actor: { kind: 'user', deviceId },
      }),
    async push() {
      while (pushed < store.recorded.length) {
        const changes = store.recorded.slice(pushed, pushed + 1_000);
        const response = await fetch(`${options.url}/v1/sync/push`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ deviceId, changes }),
        });
        if (!response.ok)
          throw new Error(`push failed: ${response.status} ${await response.text()}`);
        pushed += changes.length;
      }
    },
    async pullAll() {
      const changes: Change[] = [];
      let cursor = '0';
      for (;;) {
        const response = await fetch(`${options.url}/v1/sync/pull?since=${cursor}&limit=1000`, {
          headers,
        });
        if (!response.ok) throw new Error(`pull failed: ${response.status}`);
        const page = (await response.json()) as {
          changes: Change[];
          cursor: string;
          more: boolean;
        };
        changes.push(...page.changes);
        cursor = page.cursor;
        if (!page.more) return changes;
      }
    },
  };
}
