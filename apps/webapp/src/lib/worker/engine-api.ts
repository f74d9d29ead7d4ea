/**
 * The one contract between pages and the engine worker. Only plain data crosses it: inputs are
 * validated in the worker with these schemas (built from the engine's), and failures come back
 * as `{ ok: false, error }` values rather than thrown errors.
 */
import { z } from 'zod';
import {
  DevicePresenceSchema,
  GoalSchema,
  type ExportFile,
  type ImportReport,
  MissionSchema,
  NoteSchema,
  TaskSchema,
  PushSubscriptionSchema,
  WebhookFormatSchema,
  type Actor,
  type PushState,
  type WebhookState,
  type EngineErrorData,
  type ProposalStatus,
} from '@baton/engine';
import { errorData } from './error-data.ts';

export type Result<T> = { ok: true; value: T } | { ok: false; error: EngineErrorData };

export const DomainTableSchema = z.enum(['tasks', 'notes', 'goals']);

const rowIdSchema = z.string().min(1).max(300);

export const inputSchemas = {
  createMission: z.object({ draft: z.record(z.string(), z.unknown()) }),
  updateMission: z.object({ id: rowIdSchema, patch: z.record(z.string(), z.unknown()) }),
  runNow: z.object({ missionId: rowIdSchema }),
  dryRun: z.object({ missionId: rowIdSchema }),
  retryIteration: z.object({ iterationId: rowIdSchema }),
  /** `model` empty or absent: the model this device plans with. */
  replayIteration: z.object({
    iterationId: rowIdSchema,
    model: z.string().trim().max(200).optional(),
  }),
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
  /** An export file's text (Settings → Your data); the engine reads and checks it. */
  importData: z.object({ text: z.string().max(200_000_000, 'the file is larger than 200 MB') }),
  hello: z.object({ version: z.string().max(100).nullable() }),
  networkChanged: z.object({ online: z.boolean() }),
  webhook: z.discriminatedUnion('action', [
    z.object({ action: z.enum(['read', 'remove', 'test']) }),
    z.object({
      action: z.literal('save'),
      url: z.string().trim().max(2_000),
      format: WebhookFormatSchema,
    }),
  ]),
  push: z.discriminatedUnion('action', [
    z.object({ action: z.literal('read') }),
    z.object({ action: z.literal('subscribe'), subscription: PushSubscriptionSchema }),
    z.object({ action: z.literal('unsubscribe'), endpoint: z.string().min(1).max(2_000) }),
  ]),
} as const;

export type ApiInput<K extends keyof typeof inputSchemas> = z.input<(typeof inputSchemas)[K]>;

/** The schemas pages use to check a form before sending it (the worker checks again). */
export const formSchemas = {
  mission: MissionSchema,
  tasks: TaskSchema,
  notes: NoteSchema,
  goals: GoalSchema,
} as const;

export const ConnectionSchema = z.enum([
  'signed_out',
  'connecting',
  'online',
  'offline',
  /** The relay answered something this app cannot use (see `lastError`); retried with backoff. */
  'error',
  'unauthorized',
]);
export type Connection = z.infer<typeof ConnectionSchema>;

/** A device the relay sees connected on the live connection. */
export const PresenceDeviceSchema = DevicePresenceSchema;
export type PresenceDevice = z.infer<typeof PresenceDeviceSchema>;

/**
 * Who plans due slots now (design §2), as the status bar names it:
 * - `this-browser`: a tab of this browser plans; `reason` says why it alone is sure of it
 *   (`covered`: the relay counts this device as connected and able to plan, and `others` may
 *   claim slots too, first claim wins; `offline`/`signed-out`: it plans without a claim);
 * - `other-device`: another of the person's devices is connected and able to plan, this one is not;
 * - `relay`: no capable device is connected (`covered` is false), so the relay plans.
 */
export const BatonHolderSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('this-browser'),
    reason: z.enum(['covered', 'offline', 'signed-out']),
    others: z.array(PresenceDeviceSchema),
  }),
  z.object({ kind: z.literal('other-device'), devices: z.array(PresenceDeviceSchema) }),
  z.object({ kind: z.literal('relay') }),
]);
export type BatonHolder = z.infer<typeof BatonHolderSchema>;

/**
 * What the status bar shows. The leading host broadcasts it on `statusChannelName` whenever it
 * changes and with every heartbeat; pages check each message with this schema.
 */
export const EngineStatusSchema = z.object({
  deviceId: z.string(),
  deviceName: z.string(),
  connection: ConnectionSchema,
  relayUrl: z.string(),
  outboxSize: z.number().int().nonnegative(),
  lastError: z.string().nullable(),
  /** Devices the relay sees connected, from its `status` message. */
  devices: z.array(PresenceDeviceSchema),
  /** Names of this user's devices seen so far (this one included), by device id. */
  deviceNames: z.record(z.string(), z.string()),
  /** The relay's view: a capable device is connected, so the relay does not plan for us. */
  covered: z.boolean(),
  /** Who plans due slots right now. */
  baton: BatonHolderSchema,
  /**
   * This device has a model endpoint of its own (Settings), so it can plan without the relay and
   * run device-only missions. Optional: a host of an older build does not say.
   */
  deviceModel: z.boolean().optional(),
  /** The iteration this host is planning now, if any. */
  planning: z
    .object({ missionId: z.string(), iterationId: z.string(), phase: z.string() })
    .nullable(),
  lastTickAt: z.number().nullable(),
  /** `shared` (SharedWorker) or `dedicated` (per-tab worker; the leader plans). */
  host: z.enum(['shared', 'dedicated']),
  /** Random per worker instance: two tabs reporting one id share one worker. */
  hostId: z.string(),
  /** This host holds the `baton-engine-leader` lead: it alone ticks, plans and syncs. */
  leader: z.boolean(),
  /** The app build (SvelteKit `version`) of the pages that started this host, if told. */
  version: z.string().nullable(),
  /** When this status was taken (epoch ms). */
  at: z.number(),
});
export type EngineStatus = z.infer<typeof EngineStatusSchema>;

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
  /** The relay's own model as it says now; null when not signed in or not reachable. */
  relayModel: { configured: boolean; name: string | null } | null;
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

/** "Replay with…": a past run's plan and the same prompt planned again (nothing written). */
export interface ReplayView {
  iterationId: string;
  original: DryRunPlan;
  replayed: DryRunPlan;
  /** The prompt the run kept, or one rebuilt from the data now (the run kept none). */
  promptSource: 'stored' | 'rebuilt';
  /** The replay's prompt hashes as the run's did. */
  samePrompt: boolean;
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

/** What a worker answers to `hello`, before its engine is ready. */
export interface HelloAnswer {
  host: EngineStatus['host'];
  hostId: string;
}

/**
 * Every method resolves with a `Result`: a failure (invalid input, a broken relay, a worker
 * that could not open its database) comes back as `{ok: false, error: {kind, message, field?}}`,
 * never as a thrown error. The page-side client (engine-client.ts) keeps that promise even when
 * the worker itself is gone.
 */
export interface EngineApi {
  /**
   * Answered at once, even while the engine is still opening its database: the page's proof that
   * the worker runs. `version` is the page's build, reported in the status.
   */
  hello(input: ApiInput<'hello'>): Promise<Result<HelloAnswer>>;
  status(): Promise<Result<EngineStatus>>;
  settings(): Promise<Result<Settings>>;
  createMission(input: ApiInput<'createMission'>): Promise<Result<{ id: string }>>;
  updateMission(input: ApiInput<'updateMission'>): Promise<Result<null>>;
  runNow(input: ApiInput<'runNow'>): Promise<Result<RunNowOutcome>>;
  dryRun(input: ApiInput<'dryRun'>): Promise<Result<DryRunPlan>>;
  /** Plans a failed run's slot again, as its next attempt (the engine's `retryIteration`). */
  retryIteration(input: ApiInput<'retryIteration'>): Promise<Result<RunNowOutcome>>;
  /** Plans a past run's slot again with its prompt on another model, as a dry run. */
  replayIteration(input: ApiInput<'replayIteration'>): Promise<Result<ReplayView>>;
  decide(input: ApiInput<'decide'>): Promise<Result<DecideOutcome>>;
  revertIteration(input: ApiInput<'revertIteration'>): Promise<Result<null>>;
  setFeedback(input: ApiInput<'setFeedback'>): Promise<Result<null>>;
  saveRow(input: ApiInput<'saveRow'>): Promise<Result<{ id: string }>>;
  deleteRow(input: ApiInput<'deleteRow'>): Promise<Result<null>>;
  /** Checks the token with the relay, then saves address, token and user in one transaction. */
  signIn(input: ApiInput<'signIn'>): Promise<Result<{ user: string }>>;
  signOut(): Promise<Result<null>>;
  saveDevice(input: ApiInput<'saveDevice'>): Promise<Result<null>>;
  /** Saves endpoint, key and model name in one transaction (nothing half-saved). */
  saveModel(input: ApiInput<'saveModel'>): Promise<Result<null>>;
  markSeen(input: ApiInput<'markSeen'>): Promise<Result<null>>;
  /** Every synced row of this device as one export file (docs/decisions/0010). */
  exportData(): Promise<Result<ExportFile>>;
  /** Merges an export file's rows as if pulled; they sync as changes. */
  importData(input: ApiInput<'importData'>): Promise<Result<ImportReport>>;
  /** The page saw the network come or go: the leader reconnects (or checks) at once. */
  networkChanged(input: ApiInput<'networkChanged'>): Promise<Result<null>>;
  /** The notification webhook the relay keeps for this user: read, save, remove or test it. */
  webhook(input: ApiInput<'webhook'>): Promise<Result<WebhookState>>;
  /** This browser's Web Push subscription at the relay: the relay's key, subscribe, unsubscribe. */
  push(input: ApiInput<'push'>): Promise<Result<PushState>>;
  /** Runs a tick and a sync round now (on the leading host; a follower forwards it). */
  poke(): Promise<Result<null>>;
  /** For tests and diagnosis. */
  debugState(): Promise<Result<DebugState>>;
}

/** Where the leading host broadcasts its EngineStatus to every page of this browser. */
export const statusChannelName = 'baton-status';

/** Every method of the EngineApi, so a worker can expose the API before its host is ready. */
export const engineApiMethods = [
  'hello',
  'status',
  'settings',
  'createMission',
  'updateMission',
  'runNow',
  'dryRun',
  'retryIteration',
  'replayIteration',
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
  'exportData',
  'importData',
  'networkChanged',
  'webhook',
  'push',
  'poke',
  'debugState',
] as const satisfies ReadonlyArray<keyof EngineApi>;

type AnyMethod = (...args: unknown[]) => Promise<unknown>;

/**
 * An EngineApi whose calls wait for `ready`, except `hello`, which answers at once. Workers
 * expose it immediately, so no message that arrives while the host opens IndexedDB is lost. If
 * the host fails to start, or a method throws after all, the call resolves with an error result.
 */
export function deferredApi(options: {
  ready: Promise<EngineApi>;
  hello: EngineApi['hello'];
}): EngineApi {
  const api: Record<string, AnyMethod> = { hello: options.hello as AnyMethod };
  for (const name of engineApiMethods) {
    if (name === 'hello') continue;
    api[name] = async (...args: unknown[]) => {
      let target: Record<string, AnyMethod>;
      try {
        target = (await options.ready) as unknown as Record<string, AnyMethod>;
      } catch (error) {
        const data = errorData(error);
        return {
          ok: false,
          error: { kind: 'unavailable', message: `The engine could not start: ${data.message}` },
        };
      }
      try {
        return await target[name]!(...args);
      } catch (error) {
        return { ok: false, error: errorData(error) };
      }
    };
  }
  return api as unknown as EngineApi;
}
