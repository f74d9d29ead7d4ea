import { describe, expect, it } from 'vitest';
import { formatHlc } from '../sync/hlc.ts';
import type { StoredRow } from '../sync/merge.ts';
import { scheduleSince } from './since.ts';

const created = Date.UTC(2026, 9, 26, 7, 0);
const day = 24 * 3_600_000;
const at = (wallMs: number) => formatHlc({ wallMs, counter: 0, nodeId: 'dev_a' });

/** A mission row created at `created` whose fields were last written as `stamps` say. */
function mission(stamps: Record<string, number> = {}): StoredRow {
  const written = {
    title: created,
    schedule: created,
    catchUp: created,
    state: created,
    ...stamps,
  };
  return {
    table: 'missions',
    id: 'm1',
    fields: {},
    stamps: Object.fromEntries(
      Object.entries({ _createdBy: created, _updatedBy: created, ...written }).map(
        ([field, wallMs]) => [field, at(wallMs)],
      ),
    ),
  };
}

describe('scheduleSince', () => {
  it('starts a mission that was never edited at its creation', () => {
    expect(scheduleSince(mission())).toBe(created);
  });

  it('starts after the last edit of the schedule, the catch-up or the state', () => {
    expect(scheduleSince(mission({ schedule: created + 30 * day }))).toBe(created + 30 * day);
    expect(scheduleSince(mission({ catchUp: created + 2 * day }))).toBe(created + 2 * day);
    expect(scheduleSince(mission({ state: created + 3 * day, schedule: created + day }))).toBe(
      created + 3 * day,
    );
  });

  it('is not moved by edits of other fields', () => {
    expect(
      scheduleSince(mission({ title: created + 5 * day, _updatedBy: created + 5 * day })),
    ).toBe(created);
  });
});
