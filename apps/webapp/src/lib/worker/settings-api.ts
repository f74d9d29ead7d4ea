import { EngineError, MeResponseSchema } from '@baton/engine';
import type { BatonDatabase } from '../db/database.ts';
import type { ApiCall } from './api-call.ts';
import { safely } from './api-call.ts';
import { defaultDeviceName } from './device-name.ts';
import type { EngineApi, Settings } from './engine-api.ts';
import { saveSettings, type HostSettings } from './host-settings.ts';
import { parseRelayAnswer, relayFetch, type RelayTarget } from './relay-http.ts';

/** What the relay says of its own model: undefined when it cannot be asked now. */
async function relayModel(
  target: RelayTarget,
): Promise<{ configured: boolean; name: string | null } | null> {
  if (!target.token) return null;
  try {
    const { body } = await relayFetch(target, '/v1/me', { signal: AbortSignal.timeout(3_000) });
    return MeResponseSchema.safeParse(body).data?.model ?? null;
  } catch {
    return null;
  }
}

export interface SettingsApiContext {
  db: BatonDatabase;
  deviceId: string;
  /** The page origin, the relay address when none is set. */
  origin: string;
  /** The host's in-memory settings: changed here only after the transaction commits. */
  settings: HostSettings;
  target: () => RelayTarget;
  call: ApiCall;
  /** After a save: tell the other hosts to re-read, and restart sync if this host leads. */
  saved: (changed: { connection: boolean }) => void;
}

/** The Settings page's methods of the EngineApi. Each save is one transaction: all or nothing. */
export function createSettingsApi(
  context: SettingsApiContext,
): Pick<EngineApi, 'settings' | 'signIn' | 'signOut' | 'saveDevice' | 'saveModel'> {
  const { db, settings, target, call } = context;

  return {
    settings: () =>
      safely(async (): Promise<Settings> => ({
        deviceId: context.deviceId,
        deviceName: settings.deviceName,
        relayUrl: target().url,
        signedIn: Boolean(settings.token),
        user: settings.user,
        modelEndpoint: settings.modelEndpoint ?? '',
        modelKeySet: Boolean(settings.modelKey),
        modelName: settings.modelName ?? '',
        relayModel: await relayModel(target()),
      })),
    signIn: (input) =>
      call('signIn', input, async ({ relayUrl, token }) => {
        const url = relayUrl.replace(/\/+$/, '') || context.origin;
        try {
          new URL(url);
        } catch {
          throw new EngineError('invalid', 'enter an address such as http://localhost:8787', {
            field: 'relayUrl',
          });
        }
        let body: unknown;
        try {
          ({ body } = await relayFetch({ url, token }, '/v1/me'));
        } catch (error) {
          if (error instanceof EngineError && error.kind === 'unauthorized') {
            throw new EngineError(
              'unauthorized',
              'The relay did not accept this token. Copy it again from the relay’s start output.',
              { field: 'token' },
            );
          }
          throw new EngineError(
            'unavailable',
            `Could not reach the relay at ${url}: ${(error as Error).message}`,
            { field: 'relayUrl' },
          );
        }
        const me = parseRelayAnswer(MeResponseSchema, body, 'an account answer (/v1/me)');
        const user = me.name || me.userId;
        const saved = { relayUrl: url === context.origin ? '' : url, token, user };
        // Another account's changes must not follow from this one's cursor.
        await saveSettings(db, {
          ...saved,
          ...(token === settings.token ? {} : { cursor: null }),
        });
        Object.assign(settings, saved);
        context.saved({ connection: true });
        return { user };
      }),
    signOut: () =>
      safely(async () => {
        await saveSettings(db, { token: null, user: null });
        settings.token = undefined;
        settings.user = null;
        context.saved({ connection: true });
        return null;
      }),
    saveDevice: (input) =>
      call('saveDevice', input, async ({ deviceName }) => {
        await saveSettings(db, { deviceName });
        settings.deviceName = deviceName || defaultDeviceName();
        // The live connection's hello carries the name.
        context.saved({ connection: true });
        return null;
      }),
    saveModel: (input) =>
      call('saveModel', input, async ({ endpoint, apiKey, model: modelName }) => {
        if (endpoint) {
          try {
            const parsed = new URL(endpoint);
            if (!/^https?:$/.test(parsed.protocol)) throw new Error('not http');
          } catch {
            throw new EngineError(
              'invalid',
              'enter an http(s) address, such as http://localhost:11434/v1',
              { field: 'endpoint' },
            );
          }
          if (!modelName)
            throw new EngineError('invalid', 'name the model to use at this endpoint', {
              field: 'model',
            });
        }
        const next = {
          modelEndpoint: endpoint || undefined,
          modelName: endpoint ? modelName : undefined,
          // An empty key field keeps the stored key unless the endpoint is cleared.
          modelKey: !endpoint ? undefined : apiKey || settings.modelKey,
        };
        await saveSettings(db, next);
        Object.assign(settings, next);
        context.saved({ connection: false });
        return null;
      }),
  };
}
