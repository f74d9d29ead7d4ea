import { EngineError } from '../errors.ts';
import type { Runner } from '../model/iteration.ts';
import { readRows, type RowOf } from '../model/read-row.ts';
import type { ChatMessage, Claims, Clock, LanguageModel, Store } from '../ports.ts';
import { buildPrompt, type PastIteration } from '../planner/build-prompt.ts';
import { runPlanner, type PlannerResult } from '../planner/run-planner.ts';
import type { StoredRow } from '../sync/merge.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import { createToolContext } from './execute-step.ts';

/** What a host sees while a slot is planned (the `planning…` state is host-local, not a row). */
export interface PlanningProgress {
  missionId: string;
  iterationId: string;
  phase: 'claiming' | 'planning' | 'writing' | 'done';
}

/**
 * The last iterations of a mission with their proposals, newest last; with `beforeSlot` (an
 * ISO slot), only those of earlier slots (a replay rebuilding an old prompt).
 */
export async function loadHistory(
  store: Store,
  missionId: string,
  limit: number,
  beforeSlot?: string,
  /** The mission's iterations as the caller just read them (spares a read). */
  read?: StoredRow[],
): Promise<PastIteration[]> {
  const iterations = readRows(
    'iterations',
    read ?? (await store.list('iterations', { field: 'missionId', equals: missionId })),
  )
    .filter((iteration) => iteration.status !== 'skipped')
    .filter((iteration) => beforeSlot === undefined || iteration.slot < beforeSlot)
    .sort((a, b) => (a.slot < b.slot ? -1 : 1))
    .slice(-limit);
  // Each iteration's proposals are read at once (a relay answers them in one statement).
  return Promise.all(
    iterations.map(async (iteration) => {
      const proposals = readRows(
        'proposals',
        await store.list('proposals', { field: 'iterationId', equals: iteration.id }),
      );
      return { iteration, proposals: proposals.sort((a, b) => a.stepIndex - b.stepIndex) };
    }),
  );
}

/** The compact rows of the mission's declared inputs. */
async function resolveInputs(
  store: Store,
  mission: RowOf<'missions'>,
): Promise<{ label: string; rows: unknown[] }[]> {
  const context = createToolContext(store);
  const inputs = [];
  for (const input of mission.inputs) {
    let rows: unknown[] = await context.list(input.table);
    if (input.table === 'tasks' && input.where === 'open')
      rows = (rows as RowOf<'tasks'>[]).filter((task) => !task.done);
    rows = rows.slice(0, input.limit).map((row) => {
      const {
        createdBy: _createdBy,
        updatedBy: _updatedBy,
        createdAt: _createdAt,
        updatedAt: _updatedAt,
        ...fields
      } = row as Record<string, unknown>;
      return fields;
    });
    inputs.push({ label: `${input.where === 'open' ? 'Open ' : ''}${input.table}`, rows });
  }
  return inputs;
}

/**
 * Calls the model for one slot of a mission. No claims, no writes: `tick` and `dryRun` wrap it.
 * The model is told `now` (the time the caller planned at); the clock only measures latency.
 */
export async function planMission(options: {
  store: Store;
  clock: Clock;
  model: LanguageModel | undefined;
  tools: ToolRegistry;
  mission: RowOf<'missions'>;
  slotMs: number;
  now: number;
  signal: AbortSignal;
  maxRounds: number | undefined;
  /** Awaited before every model call, the first included (`round` 0). */
  beforeRound?: (round: number) => Promise<void>;
  /** The mission's iterations as the caller read them, for its history (spares a read). */
  iterations?: StoredRow[];
}): Promise<PlannerResult> {
  const { mission, clock } = options;
  const started = clock.now();
  const modelName = mission.model ?? options.model?.defaultModel;
  if (!options.model || !modelName) {
    const error = new EngineError(
      'no_model',
      'No model is configured. Set one in Settings (a model endpoint for this device) or on the relay (OPENAI_BASE_URL, OPENAI_API_KEY, BATON_MODEL).',
    );
    return {
      status: 'failed',
      plan: null,
      usage: {
        promptTokens: 0,
        completionTokens: 0,
        model: modelName ?? '',
        latencyMs: 0,
        rounds: 0,
      },
      error: { code: error.kind, message: error.message },
      replay: { promptHash: '', responses: [], prompt: null },
    };
  }
  const messages = await openingPrompt(options);
  return runPlanner({
    mission,
    messages,
    model: options.model,
    modelName,
    tools: options.tools,
    context: createToolContext(options.store),
    signal: options.signal,
    // A clock set back meanwhile must not make a negative latency (the plan would not validate).
    elapsedMs: () => Math.max(0, clock.now() - started),
    ...(options.maxRounds === undefined ? {} : { maxRounds: options.maxRounds }),
    ...(options.beforeRound ? { beforeRound: options.beforeRound } : {}),
  });
}

/**
 * The opening messages of a run of `mission` for a slot, from the store's data now: the
 * mission's inputs and its last three runs (with `beforeSlot`, those before that slot).
 */
export async function openingPrompt(options: {
  store: Store;
  mission: RowOf<'missions'>;
  slotMs: number;
  now: number;
  beforeSlot?: string | undefined;
  /** The mission's iterations as the caller read them (spares a read). */
  iterations?: StoredRow[] | undefined;
}): Promise<ChatMessage[]> {
  const { store, mission } = options;
  // Reads only, each on its own: the inputs and the history are read at once.
  const [inputs, history] = await Promise.all([
    resolveInputs(store, mission),
    loadHistory(store, mission.id, 3, options.beforeSlot, options.iterations),
  ]);
  return buildPrompt({
    mission,
    slotIso: new Date(options.slotMs).toISOString(),
    nowIso: new Date(options.now).toISOString(),
    inputs,
    history,
  });
}

/** Claims an iteration id, or says who holds it. Without a Claims port, granted unclaimed. */
export async function claimSlot(
  claims: Claims | undefined,
  iterationId: string,
  runner: Runner,
  ttlMs: number,
  now: number,
  retry = false,
) {
  const holder = runner.kind === 'relay' ? runner.instanceId : runner.deviceId;
  if (!claims) return { granted: true, holder, expiresAt: 0, unclaimed: true };
  return claims.claim({ iterationId, holder, ttlMs, now, ...(retry ? { retry } : {}) });
}
