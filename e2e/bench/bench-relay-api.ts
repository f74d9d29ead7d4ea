/**
 * What the browser bench does at the relay's HTTP API, as another device of the same user would:
 * push task changes (`POST /v1/sync/push`, at most 1,000 a request).
 */
import { formatHlc } from '@baton/engine';
import { createSequentialIds } from '@baton/engine/testing';
import type { Relay } from '../relay-process.ts';

/** Makes task changes of one device: fresh ulids, stamps in order on that device's clock. */
export function createTaskChanges(options: { deviceId: string; idPrefix: string }) {
  const ids = createSequentialIds(options.idPrefix);
  const { deviceId } = options;
  let lastMs = 0;
  let counter = 0;
  return (tasks: Array<{ rowId: string; title: string }>) =>
    tasks.map((task) => {
      const wallMs = Date.now();
      counter = wallMs === lastMs ? counter + 1 : 0;
      lastMs = wallMs;
      return {
        id: ids.ulid(),
        table: 'tasks',
        rowId: task.rowId,
        fields: { title: task.title, notes: '', due: null, priority: 'normal', done: false },
        hlc: formatHlc({ wallMs, counter, nodeId: deviceId }),
        actor: { kind: 'user', deviceId },
        deviceId,
      };
    });
}

/** Pushes changes of `deviceId` in requests of at most 1,000; returns the relay's last cursor. */
export async function pushToRelay(
  relay: Relay,
  deviceId: string,
  changes: readonly unknown[],
): Promise<string> {
  let cursor = '';
  for (let start = 0; start < changes.length; start += 1_000) {
    const response = await fetch(`${relay.url}/v1/sync/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${relay.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId, changes: changes.slice(start, start + 1_000) }),
    });
    if (!response.ok) throw new Error(`push answered ${response.status}: ${await response.text()}`);
    cursor = ((await response.json()) as { cursor: string }).cursor;
  }
  return cursor;
}
