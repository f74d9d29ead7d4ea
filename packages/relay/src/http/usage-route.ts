/**
 * `GET /v1/me/usage`: the signed-in user's use of the model proxy today (UTC) in this relay
 * process, and the limits that apply to it, for a client to show before a call is refused.
 */
import type { Handler } from 'hono';
import type { ProxySettings, RelayConfig } from '../config.ts';
import type { UserLimitsTracker } from '../proxy/user-limits.ts';
import type { AppEnv } from './app-env.ts';
import { allowedModels } from './llm-routes.ts';

export function usageRoute(options: {
  model: RelayConfig['model'];
  proxy: ProxySettings;
  limits: UserLimitsTracker;
}): Handler<AppEnv> {
  const { proxy, model } = options;
  return (context) => {
    const { day, callsToday, tokensToday, refusalsToday, inFlight } = options.limits.usage(
      context.get('user').id,
    );
    return context.json({
      day,
      callsToday,
      tokensToday,
      refusalsToday,
      inFlight,
      limits: {
        maxInFlight: proxy.maxInFlight,
        callsPerMinute: proxy.callsPerMinute,
        tokensPerDay: proxy.tokensPerDay,
        maxTokens: proxy.maxTokens,
      },
      /** The models a call may name, the default first; empty when the relay has no model. */
      models: model ? allowedModels(model, proxy) : [],
      /** Counts are kept by each relay process (several instances each count their own). */
      scope: 'process',
    });
  };
}
