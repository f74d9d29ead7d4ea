/**
 * The relay's Prometheus metrics, on a registry of its own (not prom-client's global one), so
 * several apps in one test process do not collide. Served at `GET /metrics`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(options: { collectDefaults?: boolean } = {}) {
  const registry = new Registry();
  if (options.collectDefaults)
    collectDefaultMetrics({ register: registry, prefix: 'baton_relay_' });
  const registers = [registry];
  return {
    registry,
    ticks: new Counter({ name: 'baton_ticks_total', help: 'Runner ticks started', registers }),
    tickDuration: new Histogram({
      name: 'baton_tick_duration_seconds',
      help: 'Duration of a runner tick',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    }),
    plans: new Counter({
      name: 'baton_plans_total',
      help: 'Slots the runner handled, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    modelCalls: new Counter({
      name: 'baton_model_calls_total',
      help: 'Language model calls by the runner, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    modelLatency: new Histogram({
      name: 'baton_model_call_duration_seconds',
      help: 'Latency of language model calls by the runner',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    claims: new Counter({
      name: 'baton_claims_total',
      help: 'Claim requests (HTTP and runner), by result',
      labelNames: ['result'] as const,
      registers,
    }),
    pushRequests: new Counter({
      name: 'baton_push_requests_total',
      help: 'Accepted push requests',
      registers,
    }),
    pushedChanges: new Counter({
      name: 'baton_pushed_changes_total',
      help: 'Pushed changes, by result',
      labelNames: ['result'] as const,
      registers,
    }),
    pushBytes: new Histogram({
      name: 'baton_push_body_bytes',
      help: 'Size of accepted push request bodies, in bytes',
      buckets: [1e3, 1e4, 1e5, 1e6, 5e6],
      registers,
    }),
    pullRequests: new Counter({
      name: 'baton_pull_requests_total',
      help: 'Pull requests',
      registers,
    }),
    pulledChanges: new Counter({
      name: 'baton_pulled_changes_total',
      help: 'Changes returned by pulls',
      registers,
    }),
    pullBytes: new Histogram({
      name: 'baton_pull_body_bytes',
      help: 'Size of pull response bodies, in bytes',
      buckets: [1e3, 1e4, 1e5, 1e6, 5e6],
      registers,
    }),
    proxyCalls: new Counter({
      name: 'baton_proxy_calls_total',
      help: 'Calls through the model proxy (/v1/llm), by route and outcome (ok, model_error, unavailable, no_model, invalid, refused)',
      labelNames: ['route', 'outcome'] as const,
      registers,
    }),
    proxyDuration: new Histogram({
      name: 'baton_proxy_call_duration_seconds',
      help: 'Time until the model answered a proxied call (headers; a stream may run on), by route and outcome',
      labelNames: ['route', 'outcome'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    // Labelled by user id only (never a name or token); one series per user who used the proxy.
    proxyUserCalls: new Counter({
      name: 'baton_proxy_user_calls_total',
      help: 'Calls through the model proxy admitted for a user, by user id',
      labelNames: ['user_id'] as const,
      registers,
    }),
    proxyUserTokens: new Counter({
      name: 'baton_proxy_user_tokens_total',
      help: "Tokens (prompt + completion) the model endpoint reported for a user's proxied calls, by user id",
      labelNames: ['user_id'] as const,
      registers,
    }),
    proxyUserRefusals: new Counter({
      name: 'baton_proxy_user_refusals_total',
      help: "A user's proxied calls refused by a limit (in_flight, calls_per_minute, tokens_per_day), by user id and limit",
      labelNames: ['user_id', 'limit'] as const,
      registers,
    }),
    liveConnections: new Gauge({
      name: 'baton_live_connections',
      help: 'Open live connections on this instance',
      registers,
    }),
    httpErrors: new Counter({
      name: 'baton_http_errors_total',
      help: 'Error responses, by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
