import { EngineError, type LanguageModel } from '@baton/engine';
import { createOpenAiModel, type OpenAiEndpoint } from '@baton/engine/openai';
import { relayUrl, type RelayTargetSource } from './relay-http.ts';

/** Where this device's model is: a direct endpoint from Settings, else the relay's proxy. */
export interface ModelSettings {
  endpoint: string | undefined;
  apiKey: string | undefined;
  model: string | undefined;
}

/**
 * The default model name when planning through the relay's proxy. It is sent as '' so the relay
 * substitutes the model it is configured with.
 */
export const relayDefaultModel = 'relay-default';

export const noModelHelp =
  'No model is configured. Sign in to a relay that has a model (start it with OPENAI_BASE_URL, ' +
  'OPENAI_API_KEY and BATON_MODEL), or set a model endpoint and name for this device in Settings.';

export const deviceOnlyHelp =
  'This mission runs only on your devices, so its prompt never goes through the relay’s model: ' +
  'set a model endpoint for this device in Settings.';

/** Per call: a model that has not answered in two minutes is treated as unavailable. */
const timeoutMs = 120_000;

const relayProxyWording = {
  unreachable: () =>
    'The relay is unreachable, and this device has no model endpoint of its own: offline, ' +
    'planning needs one (set it in Settings), or wait until the relay is back.',
  unauthorized: 'the relay refused the token; sign in again in Settings',
  noModel:
    'The relay has no model configured. Restart it with OPENAI_BASE_URL, OPENAI_API_KEY ' +
    'and BATON_MODEL, or set a model endpoint and name for this device in Settings.',
};

/**
 * The device's LanguageModel: the engine's one OpenAI adapter (no SDK retries), pointed at the
 * endpoint set in Settings or else the relay's proxy. Settings are read per call, so a change
 * applies to the next planning run. Runs inside the worker (no window), so the SDK needs no
 * `dangerouslyAllowBrowser`.
 */
export function createDeviceModel(options: {
  settings: () => ModelSettings;
  relay: RelayTargetSource;
}): LanguageModel {
  function target(): (OpenAiEndpoint & { viaRelay: boolean }) | undefined {
    const settings = options.settings();
    if (settings.endpoint)
      return {
        baseUrl: settings.endpoint,
        apiKey: settings.apiKey || 'none',
        defaultModel: settings.model || relayDefaultModel,
        wording: { noModel: noModelHelp },
        viaRelay: false,
      };
    const relay = options.relay();
    if (relay.token)
      return {
        baseUrl: relayUrl(relay.url, '/v1/llm'),
        apiKey: relay.token,
        defaultModel: relayDefaultModel,
        defaultModelSentAs: '',
        wording: relayProxyWording,
        viaRelay: true,
      };
    return undefined;
  }
  const adapter = createOpenAiModel({
    endpoint: target,
    noEndpointMessage: noModelHelp,
    timeoutMs,
  });

  return {
    get defaultModel() {
      return adapter.defaultModel;
    },
    complete(request, context) {
      // A device-only mission's prompt never leaves the person's devices (design §2).
      if (request.runOn === 'device' && target()?.viaRelay)
        return Promise.reject(new EngineError('no_model', deviceOnlyHelp));
      return adapter.complete(request, context);
    },
  };
}
