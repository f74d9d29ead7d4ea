/** Request bodies and paths of the load measures: pushes of task changes and pulls, per device. */
import { formatHlc } from '@baton/engine';
import { createSequentialIds } from '@baton/engine/testing';

/** Makes push bodies for one device: fresh change ids each time, rows `t0…` rewritten. */
export function createPushMaker(options: { deviceId: string; idPrefix: string; rows: number }) {
  const ids = createSequentialIds(options.idPrefix);
  const { deviceId } = options;
  let row = 0;
  let lastMs = 0;
  return (count: number): string => {
    // The device's clock only moves on: two bodies made in one millisecond get stamps of two.
    const wallMs = Math.max(Date.now(), lastMs + 1);
    lastMs = wallMs;
    const changes = Array.from({ length: count }, (_, counter) => {
      row = (row + 1) % options.rows;
      return {
        id: ids.ulid(),
        table: 'tasks',
        rowId: `t${row}`,
        fields: { title: `Task ${row}`, notes: 'Some notes about the task', done: row % 2 === 0 },
        hlc: formatHlc({ wallMs, counter, nodeId: deviceId }),
        actor: { kind: 'user', deviceId },
        deviceId,
      };
    });
    return JSON.stringify({ deviceId, changes });
  };
}

/** A pull path from a device's cursor, which `follow` moves on from each answer. */
export function createPuller(limit: number) {
  let cursor: string | undefined;
  return {
    path: () => `/v1/sync/pull?limit=${limit}${cursor ? `&since=${cursor}` : ''}`,
    follow(text: string): void {
      try {
        const body = JSON.parse(text) as { cursor?: unknown };
        if (typeof body.cursor === 'string') cursor = body.cursor;
      } catch {
        // Not an answer with a cursor (a refusal): keep the place.
      }
    },
  };
}

/** A Crockford base32 prefix for a user's change ids, so users never share an id. */
const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const idPrefixOf = (index: number) =>
  `B${crockford[Math.floor(index / 32) % 32]}${crockford[index % 32]}`;
