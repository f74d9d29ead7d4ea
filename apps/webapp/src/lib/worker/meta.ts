import type { CursorStore } from '@baton/engine';
import type { BatonDatabase, MetaKey } from '../db/database.ts';

/** Device-local settings in the `meta` table. Strings only; never synced. */
export interface MetaStore {
  get(key: MetaKey): Promise<string | undefined>;
  set(key: MetaKey, value: string | undefined): Promise<void>;
}

export function createMetaStore(db: BatonDatabase): MetaStore {
  return {
    async get(key) {
      const entry = await db.meta.get(key);
      return typeof entry?.value === 'string' ? entry.value : undefined;
    },
    async set(key, value) {
      if (value === undefined) await db.meta.delete(key);
      else await db.meta.put({ key, value });
    },
  };
}

/** The engine's `CursorStore` over the `cursor` meta entry (the relay's pull cursor). */
export function createMetaCursorStore(meta: MetaStore): CursorStore {
  return {
    get: () => meta.get('cursor'),
    set: (cursor) => meta.set('cursor', cursor),
  };
}

/** A device id that fits HLC node ids: `dev_` and 12 random base36 characters. */
export function newDeviceId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `dev_${Array.from(bytes, (byte) => (byte % 36).toString(36)).join('')}`;
}
