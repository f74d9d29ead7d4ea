/**
 * `npm run relay -- replay ITERATION_ID --model NAME`: one past run planned again with the
 * prompt it had, on the relay's model endpoint, as a dry run (the engine's `replayIteration`;
 * docs/decisions/0010). Nothing is written: no row, no claim, no proposal. Run by the relay's
 * process through its admin endpoint (PGlite), or by the CLI on the database (PostgreSQL, or a
 * PGlite folder no relay holds); both answer a `ReplayReport`.
 */
import {
  EngineError,
  createEngine,
  type LanguageModel,
  type PlannerResult,
  type ReplayOutcome,
} from '@baton/engine';
import { z } from 'zod';
import type { RelayConfig } from '../config.ts';
import type { Database } from '../db/database.ts';
import { newUlid } from '../ids.ts';
import { createOpenAiModel } from '@baton/engine/openai';
import { modelFetch } from '../runner/model-fetch.ts';
import { createSqlStore } from '../store/sql-store.ts';

export const ReplayBodySchema = z.strictObject({
  iterationId: z.string().trim().min(1).max(300),
  /** A model name the relay's endpoint serves; default: the mission's model, else BATON_MODEL. */
  model: z.string().trim().min(1).max(200).optional(),
});
export type ReplayBody = z.infer<typeof ReplayBodySchema>;

/** One plan as the CLI prints it. */
export const ReplayPlanSchema = z.object({
  status: z.enum(['planned', 'failed']),
  model: z.string(),
  summary: z.string(),
  steps: z.array(
    z.object({
      tool: z.string(),
      params: z.record(z.string(), z.unknown()),
      rationale: z.string(),
    }),
  ),
  dropped: z.array(z.object({ tool: z.string(), reason: z.string() })),
  error: z.string().nullable(),
  promptTokens: z.number(),
  completionTokens: z.number(),
});
export type ReplayPlan = z.infer<typeof ReplayPlanSchema>;

export const ReplayReportSchema = z.object({
  user: z.object({ id: z.string(), name: z.string() }),
  iterationId: z.string(),
  missionTitle: z.string(),
  promptSource: z.enum(['stored', 'rebuilt']),
  samePrompt: z.boolean(),
  original: ReplayPlanSchema,
  replayed: ReplayPlanSchema,
});
export type ReplayReport = z.infer<typeof ReplayReportSchema>;

/** The relay's model endpoint from its settings, or undefined when none is set. */
export function modelFromConfig(model: RelayConfig['model']): LanguageModel | undefined {
  return (
    model &&
    createOpenAiModel({
      endpoint: { baseUrl: model.baseUrl, apiKey: model.apiKey, defaultModel: model.name },
      timeoutMs: model.timeoutMs,
      fetch: modelFetch(),
    })
  );
}

function planOf(
  run: Pick<PlannerResult, 'status' | 'plan' | 'error'> & {
    usage: PlannerResult['usage'] | null;
  },
): ReplayPlan {
  return {
    status: run.status,
    model: run.usage?.model ?? '',
    summary: run.plan?.summary ?? '',
    steps: (run.plan?.steps ?? []).map(({ tool, params, rationale }) => ({
      tool,
      params,
      rationale,
    })),
    dropped: (run.plan?.dropped ?? []).map(({ tool, reason }) => ({ tool, reason })),
    error: run.error?.message ?? null,
    promptTokens: run.usage?.promptTokens ?? 0,
    completionTokens: run.usage?.completionTokens ?? 0,
  };
}

export function replayReportOf(
  outcome: ReplayOutcome,
  context: { user: { id: string; name: string } },
): ReplayReport {
  return {
    ...context,
    missionTitle: outcome.missionTitle,
    iterationId: outcome.iterationId,
    promptSource: outcome.promptSource,
    samePrompt: outcome.samePrompt,
    original: planOf(outcome.original),
    replayed: planOf(outcome.replayed),
  };
}

/**
 * Finds whose run `iterationId` is (iteration ids are unique across users: they start with a
 * mission's ULID) and replays it. Looks the row up across users, a scan of the rows of
 * iterations: an admin command, not a request path. `not_found` for no such run, `no_model`
 * without a model endpoint (OPENAI_BASE_URL or OPENAI_API_KEY).
 */
export async function replayOnDatabase(options: {
  db: Database;
  model: LanguageModel | undefined;
  request: ReplayBody;
  now?: () => number;
  signal?: AbortSignal;
}): Promise<ReplayReport> {
  const { db, request } = options;
  const now = options.now ?? Date.now;
  const owners = await db.query<{ user_id: string; name: string }>(
    `select r.user_id, u.name from rows r join users u on u.id = r.user_id
     where r.table_name = 'iterations' and r.row_id = $1`,
    [request.iterationId],
  );
  const owner = owners[0];
  if (!owner)
    throw new EngineError(
      'not_found',
      `There is no run ${request.iterationId} on this relay (a run's id is shown on its mission's timeline, "Replay with…").`,
    );
  if (owners.length > 1)
    throw new EngineError(
      'conflict',
      `Several users have a run ${request.iterationId}; replay it from their own device.`,
    );
  if (!options.model)
    throw new EngineError(
      'no_model',
      'The relay has no model endpoint: set OPENAI_BASE_URL (and OPENAI_API_KEY, BATON_MODEL) as for npm start.',
    );
  const engine = createEngine({
    store: createSqlStore({ db }).forUser(owner.user_id),
    clock: { now },
    ids: { ulid: newUlid },
    model: options.model,
    nodeId: 'relay_cli',
    runner: { kind: 'relay', instanceId: 'relay_cli' },
  });
  const outcome = await engine.replayIteration({
    iterationId: request.iterationId,
    model: request.model,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return replayReportOf(outcome, { user: { id: owner.user_id, name: owner.name } });
}
