import type { BatonDatabase } from '../db/database.ts';
import { defaultDeviceName } from './device-name.ts';
import { newDeviceId, type MetaStore } from './meta.ts';

/** This device's settings, held in memory by the host and written through to `meta`. */
export interface HostSettings {
  deviceName: string;
  /** Empty when the relay is the page origin. */
  relayUrl: string;
  token: string | undefined;
  user: string | null;
  modelEndpoint: string | undefined;
  modelKey: string | undefined;
  modelName: string | undefined;
}

export type SettingKey =
  'relayUrl' | 'token' | 'user' | 'modelEndpoint' | 'modelKey' | 'modelName' | 'deviceName';

/** Reads (or, on first start, creates) this device's id and reads its settings. */
export async function loadHostSettings(options: {
  db: BatonDatabase;
  meta: MetaStore;
}): Promise<{ deviceId: string; settings: HostSettings; deviceNames: Record<string, string> }> {
  const { db, meta } = options;
  // Get-or-create in one transaction: per-tab workers starting together agree on one id.
  const deviceId: string = await db.transaction('rw', db.meta, async () => {
    const existing = await db.meta.get('deviceId');
    if (typeof existing?.value === 'string') return existing.value;
    const created = newDeviceId();
    await db.meta.put({ key: 'deviceId', value: created });
    return created;
  });
  const settings = await readHostSettings(meta);
  return { deviceId, settings, deviceNames: parseDeviceNames(await meta.get('deviceNames')) };
}

/** This device's settings as stored now (another host of this browser may have changed them). */
export async function readHostSettings(meta: MetaStore): Promise<HostSettings> {
  return {
    deviceName: (await meta.get('deviceName')) || defaultDeviceName(),
    relayUrl: (await meta.get('relayUrl')) ?? '',
    token: await meta.get('token'),
    user: (await meta.get('user')) ?? null,
    modelEndpoint: await meta.get('modelEndpoint'),
    modelKey: await meta.get('modelKey'),
    modelName: await meta.get('modelName'),
  };
}

/**
 * Writes several settings in one IndexedDB transaction: all of them or, if it fails, none. An
 * empty or undefined value deletes the key. Callers update their in-memory copy only after this
 * resolves.
 */
export async function saveSettings(
  db: BatonDatabase,
  patch: Partial<Record<SettingKey | 'cursor', string | null | undefined>>,
): Promise<void> {
  await db.transaction('rw', db.meta, async () => {
    for (const [key, value] of Object.entries(patch) as Array<[SettingKey, unknown]>) {
      if (value) await db.meta.put({ key, value });
      else await db.meta.delete(key);
    }
  });
}

/** The remembered `{deviceId: name}` map; anything unreadable counts as empty. */
function parseDeviceNames(text: string | undefined): Record<string, string> {
  try {
    const value: unknown = JSON.parse(text ?? '{}');
    if (!value || typeof value !== 'object') return {};
    return Object.fromEntries(
      Object.entries(value).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    );
  } catch {
    return {};
  }
}
