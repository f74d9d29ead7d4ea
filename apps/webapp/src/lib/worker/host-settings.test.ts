import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.ts';
import { readHostSettings, saveSettings } from './host-settings.ts';
import { createMetaStore } from './meta.ts';

describe('saving settings', () => {
  it('writes every key together and deletes the emptied ones', async () => {
    const db = openDatabase('settings-test-1');
    const meta = createMetaStore(db);
    await saveSettings(db, { relayUrl: 'http://relay.test', token: 'secret', user: 'Ada' });
    await saveSettings(db, { token: '', user: undefined, deviceName: 'Kitchen laptop' });
    expect(await readHostSettings(meta)).toMatchObject({
      relayUrl: 'http://relay.test',
      token: undefined,
      user: null,
      deviceName: 'Kitchen laptop',
    });
    await db.delete();
  });

  it('saves nothing when one value cannot be stored', async () => {
    const db = openDatabase('settings-test-2');
    const meta = createMetaStore(db);
    await saveSettings(db, { modelEndpoint: 'http://old.test/v1', modelName: 'old' });
    const unstorable = (() => 'not a string') as unknown as string;
    await expect(
      saveSettings(db, { modelEndpoint: 'http://new.test/v1', modelName: unstorable }),
    ).rejects.toThrow();
    expect(await readHostSettings(meta)).toMatchObject({
      modelEndpoint: 'http://old.test/v1',
      modelName: 'old',
    });
    await db.delete();
  });
});
