// @baton/engine: the one engine the SharedWorker and the relay host. No I/O of its own.
export { createEngine, type Engine, type EngineOptions, type ApplyReport } from './engine.ts';
export type { ReplayOutcome } from './runner/replay-iteration.ts';
export {
  EngineError,
  isEngineError,
  invalidFromZod,
  engineErrorKinds,
  type EngineErrorKind,
  type EngineErrorData,
} from './errors.ts';
export type {
  Clock,
  Ids,
  Store,
  StoreReader,
  StoreWriter,
  RowFilter,
  LanguageModel,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  ToolCall,
  ToolDefinition,
  Claims,
  ClaimResult,
  Transport,
} from './ports.ts';

export {
  ExportFileSchema,
  ExportRowSchema,
  exportFormat,
  exportVersion,
  type ExportFile,
  type ExportRow,
} from './export/export-file.ts';
export type { ImportReport } from './export/import-export.ts';
export { ActorSchema, NodeIdSchema, type Actor } from './model/actor.ts';
export {
  ScheduleSchema,
  CatchUpSchema,
  TimeZoneSchema,
  type Schedule,
  type CatchUp,
} from './model/schedule.ts';
export {
  MissionSchema,
  MissionInputSchema,
  BudgetSchema,
  ToolPolicySchema,
  type Mission,
  type MissionDraft,
  type ToolPolicy,
} from './model/mission.ts';
export {
  IterationSchema,
  RevertKeptSchema,
  ReplaySchema,
  StoredPromptSchema,
  maxStoredPromptChars,
  type Replay,
  type StoredPrompt,
  type RevertKept,
  PlanSchema,
  StepSchema,
  UsageSchema,
  RunnerSchema,
  type Iteration,
  type Plan,
  type Step,
  type Usage,
  type Runner,
} from './model/iteration.ts';
export {
  ProposalSchema,
  DecisionSchema,
  ProposalStatusSchema,
  EffectSchema,
  decidedStep,
  type Effect,
  type Proposal,
  type Decision,
  type ProposalStatus,
} from './model/proposal.ts';
export {
  TaskSchema,
  NoteSchema,
  GoalSchema,
  type Task,
  type Note,
  type Goal,
} from './model/domain.ts';
export {
  tableSchemas,
  tableNames,
  domainTables,
  isTableName,
  fieldSchema,
  type TableName,
  type DomainTable,
} from './model/tables.ts';
export {
  readRow,
  readRows,
  readField,
  type RowOf,
  type RowMeta,
  type ReadResult,
} from './model/read-row.ts';

export { ChangeSchema, ChangeListSchema, parseChange, type Change } from './sync/change.ts';
export {
  StorableJsonSchema,
  jsonValueProblem,
  maxJsonDepth,
  storable,
  type JsonProblem,
} from './model/json-value.ts';
export {
  ClaimIterationIdSchema,
  CursorSchema,
  PushRequestSchema,
  PushResponseSchema,
  PullQuerySchema,
  PullResponseSchema,
  ClaimHolderSchema,
  ClaimRequestSchema,
  ClaimResponseSchema,
  MeResponseSchema,
  type MeResponse,
  DevicePresenceSchema,
  LiveClientMessageSchema,
  LiveServerMessageSchema,
  ErrorBodySchema,
  maxPushChanges,
  maxPushBytes,
  maxLivePushBytes,
  maxPullLimit,
  maxLiveChanges,
  maxLiveBytes,
  type PushRequest,
  type PushResponse,
  type PullResponse,
  type ClaimRequest,
  type ClaimResponse,
  type DevicePresence,
  type LiveClientMessage,
  type LiveServerMessage,
  type ErrorBody,
} from './sync/protocol.ts';
export {
  WebhookDeliverySchema,
  WebhookFormatSchema,
  WebhookSettingSchema,
  WebhookStateSchema,
  type WebhookDelivery,
  type WebhookFormat,
  type WebhookSetting,
  type WebhookState,
} from './sync/webhook-protocol.ts';
export {
  PushNoticeSchema,
  PushStateSchema,
  PushSubscriptionSchema,
  PushUnsubscribeSchema,
  type PushNotice,
  type PushState,
  type PushSubscriptionData,
} from './sync/push-protocol.ts';
export { applyPresence, emptyPresence, type PresenceView } from './sync/presence.ts';
export {
  createHlc,
  hostNodeId,
  formatHlc,
  parseHlc,
  isHlcStamp,
  HlcStampSchema,
  hlcWallMs,
  maxDriftMs,
  type Hlc,
  type HlcStamp,
  type HlcParts,
} from './sync/hlc.ts';
export {
  mergeChange,
  mergeChanges,
  rowKey,
  isDeleted,
  lastStamp,
  type StoredRow,
} from './sync/merge.ts';

export {
  iterationIdOf,
  proposalIdOf,
  nextSlot,
  slotsBetween,
  describeSchedule,
  validateCron,
} from './schedule/slots.ts';
export { dueSlots, type DueSlots } from './schedule/due.ts';
export { scheduleSince } from './schedule/since.ts';
export {
  retryDue,
  nextRetryAt,
  retryBackoffMs,
  maxAttempts,
  transientErrorCodes,
  type RetryFields,
} from './schedule/retry.ts';

export { buildPrompt, describeHistory, type PastIteration } from './planner/build-prompt.ts';
export { runPlanner, defaultMaxRounds, type PlannerResult } from './planner/run-planner.ts';
export {
  builtinTools,
  createToolRegistry,
  toolDefinition,
  type ToolRegistry,
} from './tools/registry.ts';
export {
  defineReadTool,
  defineWriteTool,
  createdRowId,
  type Tool,
  type ReadTool,
  type WriteTool,
  type ToolContext,
  type RowEdit,
} from './tools/tool.ts';

export type { TickReport, MissionFilter } from './runner/tick.ts';
export type { PlanningProgress } from './runner/plan-slot.ts';
export type { DecideRequest } from './runner/decide.ts';
export { applyEditedParams } from './runner/edited-params.ts';
export { plansHere, missionsToPlan, type DueCandidate } from './runner/plans-here.ts';
export {
  decideClaim,
  claimAnswer,
  decideClaimFromStore,
  missionIdOfIteration,
  type Lease,
  type ClaimDecision,
  type ClaimRefusal,
} from './runner/claim-rule.ts';
export {
  syncRound,
  pushOutbox,
  pullAll,
  type Outbox,
  type OutboxEntry,
  type CursorStore,
  type SyncRoundReport,
  type RefusedChange,
} from './sync/sync-session.ts';
export {
  applyLiveChanges,
  pokeAfterAppend,
  type LiveChangesOutcome,
  type PokeMessage,
} from './sync/live-changes.ts';
export { pushStampProblem } from './sync/push-rules.ts';
