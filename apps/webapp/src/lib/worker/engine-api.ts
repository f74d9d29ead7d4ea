/**
 * The one contract between pages and the engine worker. Only plain data crosses it: inputs are
 * validated in the worker with these schemas (built from the engine's), and failures come back
 * as `{ ok: false, error }` values rather than thrown errors.
 */
import { z } from 'zod';
import {
  GoalSchema,
  MissionSchema,
  NoteSchema,
  TaskSchema,
  type Actor,
  type EngineErrorData,
  type ProposalStatus,
} from '@baton/engine';

export type Result<T> = { ok: true; value: T } | { ok: false; error: EngineErrorData };

export const DomainTableSchema = z.enum(['tasks', 'notes', 'goals']);

const rowIdSchema = z.string().min(1).max(300);

export const inputSchemas = {
  createMission: z.object({ draft: z.record(z.string(), z.unknown()) }),
  updateMission: z.object({ id: rowIdSchema, patch: z.record(z.string(), z.unknown()) }),
  runNow: z.object({ missionId: rowIdSchema }),
  dryRun: z.object({ missionId: rowIdSchema }),
  decide: z.object({
    proposalId: rowIdSchema,
    verdict: z.enum(['approved', 'rejected']),
    editedParams: z.record(z.string(), z.unknown()).optional(),
    feedback: z.string().max(4_000).optional(),
  }),
  revertIteration: z.object({ iterationId: rowIdSchema }),
  setFeedback: z.object({ iterationId: rowIdSchema, feedback: z.string().max(4_000) }),
  saveRow: z.object({
    table: DomainTableSchema,
    id: rowIdSchema.optional(),
    fields: z.record(z.string(), z.unknown()),
  }),
  deleteRow: z.object({ table: DomainTableSchema, id: rowIdSchema }),
  signIn: z.object({
    relayUrl: z.string().trim().max(500),
    token: z.string().trim().min(1, 'token is required').max(500),
  }),
  saveDevice: z.object({ deviceName: z.string().trim().max(64) }),
  saveModel: z.object({
    endpoint: z.string().trim().max(500),
    apiKey: z.string().trim().max(500),
    model: z.string().trim().max(200),
  }),
  markSeen: z.object({ at: z.number().int().nonnegative() }),
} as const;

export type ApiInput<K extends keyof typeof inputSchemas> = z.input<(typeof inputSchemas)[K]>;

/** The schemas pages use to check a form before sending it (the worker checks again). */
export const formSchemas = {
  mission: MissionSchema,
  tasks: TaskSchema,
  notes: NoteSchema,
  goals: GoalSchema,
} as const;

export type Connection = 'signed_out' | 'connecting' | 'online' | 'offline' | 'unauthorized';

export interface PresenceDevice {
  deviceId: string;
  name?: string;
  canPlan?: boolean;
}

/** What the status bar shows; broadcast on `statusChannelName` whenever it changes. */
export interface EngineStatus {
  deviceId: string;
  deviceName: string;
  connection: Connection;
  relayUrl: string;
  outboxSize: number;
  lastError: string | null;
  /** Devices the relay sees connected, from its `status` message. */
  devices: PresenceDevice[];
  /** Names of this user's devices seen so far (this one included), by device id. */
  deviceNames: Record<string, string>;
  /** The relay's view: a capable device is connected, so the relay does not plan for us. */
  covered: boolean;
  /** Who plans due slots right now, in words. */
  baton: string;
  /** The iteration this worker is planning now, if any. */
  planning: { missionId: string; iterationId: string; phase: string } | null;
  lastTickAt: number | null;
  /** `shared` (SharedWorker) or `dedicated` (per-tab worker; a Web Locks leader plans). */
  host: 'shared' | 'dedicated';
  leader: boolean;
}

export interface Settings {
  deviceId: string;
  deviceName: string;
  relayUrl: string;
  signedIn: boolean;
  user: string | null;
  modelEndpoint: string;
  /** Never sent back to pages in full. */
  modelKeySet: boolean;
  modelName: string;
}

export interface DebugState extends EngineStatus {
  cursor: string | null;
  ticks: number;
  plannedByThisDevice: number;
  pushes: number;
  pulls: number;
  liveConnected: boolean;
}

export interface DryRunPlan {
  status: 'planned' | 'failed';
  error: string | null;
  usage: { promptTokens: number; completionTokens: number; model: string };
  summary: string;
  steps: Array<{ tool: string; params: Record<string, unknown>; rationale: string }>;
  dropped: Array<{ tool: string; reason: string }>;
}

export interface RunNowOutcome {
  iterationId: string;
  status: 'planned' | 'failed' | 'claimed_elsewhere' | 'unchanged';
  message: string | null;
}

export interface DecideOutcome {
  status: ProposalStatus;
  /** Set when someone decided first (here or elsewhere); nothing was written. */
  alreadyDecided: { verdict: 'approved' | 'rejected'; by: Actor; at: string } | null;
}

export interface EngineApi {
  status(): Promise<EngineStatus>;
  settings(): Promise<Settings>;
  createMission(input: ApiInput<'createMission'>): Promise<Result<{ id: string }>>;
  updateMission(input: ApiInput<'updateMission'>): Promise<Result<null>>;
  runNow(input: ApiInput<'runNow'>): Promise<Result<RunNowOutcome>>;
  dryRun(input: ApiInput<'dryRun'>): Promise<Result<DryRunPlan>>;
  decide(input: ApiInput<'decide'>): Promise<Result<DecideOutcome>>;
  revertIteration(input: ApiInput<'revertIteration'>): Promise<Result<null>>;
  setFeedback(input: ApiInput<'setFeedback'>): Promise<Result<null>>;
  saveRow(input: ApiInput<'saveRow'>): Promise<Result<{ id: string }>>;
  deleteRow(input: ApiInput<'deleteRow'>): Promise<Result<null>>;
  signIn(input: ApiInput<'signIn'>): Promise<Result<{ user: string }>>;
  signOut(): Promise<Result<null>>;
  saveDevice(input: ApiInput<'saveDevice'>): Promise<Result<null>>;
  saveModel(input: ApiInput<'saveModel'>): Promise<Result<null>>;
  markSeen(input: ApiInput<'markSeen'>): Promise<Result<null>>;
  /** Runs a tick and a sync round now. */
  poke(): Promise<void>;
  /** For tests and diagnosis. */
  debugState(): Promise<DebugState>;
}

export const statusChannelName = 'baton-status';

/** Every method of the EngineApi, so a worker can expose the API before its host is ready. */
export const engineApiMethods = [
  'status',
  'settings',
  'createMission',
  'updateMission',
  'runNow',
  'dryRun',
  'decide',
  'revertIteration',
  'setFeedback',
  'saveRow',
  'deleteRow',
  'signIn',
  'signOut',
  'saveDevice',
  'saveModel',
  'markSeen',
  'poke',
  'debugState',
] as const satisfies ReadonlyArray<keyof EngineApi>;

/**
 * An EngineApi whose calls wait for `ready`. Workers expose it at once, so no message that
 * arrives while the host opens IndexedDB is lost.
 */
export function deferredApi(ready: Promise<EngineApi>): EngineApi {
  const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const name of engineApiMethods) {
    api[name] = async (...args: unknown[]) => {
      const target = (await ready) as unknown as Record<
        string,
        (...inner: unknown[]) => Promise<unknown>
      >;
      return target[name]!(...args);
    };
  }
  return api as unknown as EngineApi;
}
