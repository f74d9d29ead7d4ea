import type { LanguageModel } from '@baton/engine';
import type { Metrics } from '../metrics.ts';
import type { Limiter } from './limit-concurrency.ts';

/**
 * The runner's model: at most `limiter`'s limit of calls in flight across every user and
 * mission, each counted and timed in the metrics.
 */
export function instrumentModel(options: {
  model: LanguageModel;
  limiter: Limiter;
  metrics: Metrics;
}): LanguageModel {
  const { model, limiter, metrics } = options;
  return {
    defaultModel: model.defaultModel,
    complete: (request, callOptions) =>
      limiter.run(async () => {
        const stopTimer = metrics.modelLatency.startTimer();
        try {
          const response = await model.complete(request, callOptions);
          metrics.modelCalls.inc({ outcome: 'ok' });
          return response;
        } catch (error) {
          metrics.modelCalls.inc({ outcome: 'error' });
          throw error;
        } finally {
          stopTimer();
        }
      }),
  };
}
