import { EngineError } from '../errors.ts';
import type { ErrorInfo, Plan, Usage } from '../model/iteration.ts';
import type { ToolPolicy } from '../model/mission.ts';
import { readRow, type RowOf } from '../model/read-row.ts';
import type { ChatMessage, Clock, LanguageModel, Store } from '../ports.ts';
import { runPlanner, type PlannerResult } from '../planner/run-planner.ts';
import { hlcWallMs } from '../sync/hlc.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import { createToolContext } from './execute-step.ts';
import { assertManualRunAllowed } from './manual-run.ts';
import { openingPrompt } from './plan-slot.ts';

/** A run planned again with the prompt it had: the two plans to compare. */
export interface ReplayOutcome {
  iterationId: string;
  missionId: string;
  missionTitle: string;
  /** The run as its iteration row records it. */
  original: {
    status: 'planned' | 'failed';
    plan: Plan | null;
    usage: Usage | null;
    error: ErrorInfo | null;
  };
  /** The same prompt planned again just now; nothing of it is written anywhere. */
  replayed: PlannerResult;
  /**
   * `stored`: the prompt the run kept whole; `rebuilt`: built again from the data as it is now
   * (the run kept none: too long, or written before prompts were kept).
   */
  promptSource: 'stored' | 'rebuilt';
  /** The replay's opening prompt hashes as the run's did: the model read the same words. */
  samePrompt: boolean;
}

async function readOrThrow<T extends 'missions' | 'iterations'>(
  store: Store,
  table: T,
  id: string,
  what: string,
): Promise<RowOf<T>> {
  const row = await store.get(table, id);
  if (!row || row.fields._deleted === true)
    throw new EngineError('not_found', `There is no ${what} ${id}.`);
  const read = readRow(table, row);
  if (!read.ok) throw new EngineError('invalid', read.message);
  return read.row;
}

/**
 * "Replay with…": plans the slot of a planned or failed run again, as a dry run, with the
 * same opening prompt (the one the run kept, else rebuilt from the data with the runs before
 * its slot) and the tools it was offered, on `modelName` (default: the mission's model, else
 * the host's). No claim, no write, no proposals; the tokens are not counted afterwards. Read
 * tools read the data as it is now. Refused like a dry run (a done or archived mission, a spent
 * budget), with EngineError('not_found') for an unknown run or mission, ('conflict') for a
 * skipped run (it never had a prompt), and ('no_model') when there is no model to ask.
 */
export async function replayIteration(options: {
  store: Store;
  clock: Clock;
  model: LanguageModel | undefined;
  tools: ToolRegistry;
  iterationId: string;
  modelName?: string | undefined;
  signal: AbortSignal;
  maxRounds: number | undefined;
}): Promise<ReplayOutcome> {
  const { store, clock } = options;
  const iteration = await readOrThrow(store, 'iterations', options.iterationId, 'run');
  if (iteration.status === 'skipped')
    throw new EngineError(
      'conflict',
      'This run was skipped (catch-up), so no model ever read its prompt: there is nothing to replay. Use Dry run to see what the mission would propose now.',
    );
  const mission = await readOrThrow(store, 'missions', iteration.missionId, 'mission');
  const now = clock.now();
  await assertManualRunAllowed({ reader: store, mission, now });
  const modelName = options.modelName?.trim() || mission.model || options.model?.defaultModel;
  if (!options.model || !modelName)
    throw new EngineError(
      'no_model',
      'No model is configured to replay with. Set one in Settings (a model endpoint for this device) or on the relay (OPENAI_BASE_URL, OPENAI_API_KEY, BATON_MODEL).',
    );

  const stored = iteration.replay?.prompt ?? null;
  const messages: ChatMessage[] = stored
    ? stored.messages.map((message) => ({ role: message.role, content: message.content }))
    : await openingPrompt({
        store,
        mission,
        slotMs: Date.parse(iteration.slot),
        now: hlcWallMs(iteration.plannedAt),
        beforeSlot: iteration.slot,
      });
  // The tools the run was offered, with today's policy where there is one (a dry run executes
  // no write tool, so the policy only decides what is offered).
  const offered: Record<string, ToolPolicy> = stored
    ? Object.fromEntries(
        stored.tools.map((name) => {
          const policy = mission.tools[name];
          return [name, policy === undefined || policy === 'deny' ? 'propose' : policy];
        }),
      )
    : mission.tools;
  const started = clock.now();
  const replayed = await runPlanner({
    mission: { ...mission, tools: offered },
    messages,
    model: options.model,
    modelName,
    tools: options.tools,
    context: createToolContext(store),
    signal: options.signal,
    elapsedMs: () => Math.max(0, clock.now() - started),
    ...(options.maxRounds === undefined ? {} : { maxRounds: options.maxRounds }),
  });
  return {
    iterationId: iteration.id,
    missionId: mission.id,
    missionTitle: mission.title,
    original: {
      status: iteration.status,
      plan: iteration.plan,
      usage: iteration.usage,
      error: iteration.error,
    },
    replayed,
    promptSource: stored ? 'stored' : 'rebuilt',
    samePrompt:
      iteration.replay !== null &&
      iteration.replay.promptHash !== '' &&
      iteration.replay.promptHash === replayed.replay.promptHash,
  };
}
