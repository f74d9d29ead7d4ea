/** Test fixtures shared by the webapp's unit tests. Imported by tests only. */
import type { Change } from '@baton/engine';

/** A valid change to task `t<n>`, stamped in `n`'s order by dev_a. */
export function taskChange(n: number): Change {
  return {
    id: `01J0000000000000000000${String(n).padStart(4, '0')}`,
    table: 'tasks',
    rowId: `t${n}`,
    fields: { title: `Task ${n}` },
    hlc: `001700000000000-${String(n).padStart(6, '0')}-dev_a`,
    actor: { kind: 'user', deviceId: 'dev_a' },
    deviceId: 'dev_a',
  };
}

/** A JSON HTTP answer, as a stubbed relay gives it. */
export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
