/**
 * What the engine needs from a host. The engine does no I/O of its own: time, identity,
 * storage, the model, claims and transport all come through these doors.
 */
import type { TableName } from './model/tables.ts';
import type { Change } from './sync/change.ts';
import type { HlcStamp } from './sync/hlc.ts';
import type { StoredRow } from './sync/merge.ts';

/** Wall-clock time in epoch milliseconds. Tests use a fixed clock. */
export interface Clock {
  now(): number;
}

/** Fresh identifiers. `ulid()` returns a 26-character Crockford base32 ULID (change ids). */
export interface Ids {
  ulid(): string;
}

/** An equality filter on one field of a row's merged value. */
export interface RowFilter {
  field: string;
  equals: string | number | boolean | null;
}

/** Reads of merged rows. Reads see only committed writes; deleted rows are returned too (`_deleted`). */
export interface StoreReader {
  get(table: TableName, id: string): Promise<StoredRow | undefined>;
  /**
   * Many rows in one read, in the order of `keys` (undefined where a row is missing): IndexedDB's
   * `bulkGet`, SQL's `= any(...)`. A pulled page is merged with one read and one write, not a
   * round trip per change, and a relay tick reads just the missions it plans.
   */
  getMany(
    keys: ReadonlyArray<{ table: TableName; id: string }>,
  ): Promise<(StoredRow | undefined)[]>;
  /** Rows of a table, optionally those whose field equals a value; in id order. */
  list(table: TableName, filter?: RowFilter): Promise<StoredRow[]>;
}

/** Writes inside one transaction; reads in it see its own writes. */
export interface StoreWriter extends StoreReader {
  /** Replaces whole rows (already merged by the engine). */
  put(rows: StoredRow[]): Promise<void>;
  /**
   * Records changes made on this replica, in order: the outbox on a device, the commit log on
   * the relay. Changes received from elsewhere are not recorded again.
   */
  record(changes: Change[]): Promise<void>;
  /**
   * The newest HLC stamp of anything committed to this store (merged rows, whoever wrote them),
   * or undefined when it is empty. The engine passes its clock beyond it before it stamps a
   * write, so several hosts (a browser's workers, relay processes) sharing one store never
   * stamp a write older than what the store already holds.
   */
  latestStamp(): Promise<HlcStamp | undefined>;
}

/**
 * A replica's storage. A `transaction` is all-or-nothing: either every `put` and `record` in it
 * commits or none does. The callback must await only the writer's own operations (IndexedDB
 * ends a transaction that waits on anything else).
 */
export interface Store extends StoreReader {
  transaction<T>(fn: (writer: StoreWriter) => Promise<T>): Promise<T>;
}

/** An OpenAI-compatible chat message, as the planner builds it. */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools: ToolDefinition[];
  /**
   * Where the mission may be planned (its `runOn`). A host must not send a `device` mission's
   * prompt off the person's devices: in the browser, never through the relay's model proxy.
   */
  runOn?: 'any' | 'device' | 'relay' | undefined;
}

export interface ChatResponse {
  /**
   * Null when the endpoint answered without one (no choices): the answer is unusable, and the
   * planner records it as `bad_answer` with the tokens its usage says it was billed.
   */
  message: { content: string | null; tool_calls: ToolCall[] } | null;
  usage: { promptTokens: number; completionTokens: number };
  model: string;
  /** The raw answer, kept for replay. */
  raw: unknown;
}

/**
 * The language model. Hosts adapt the `openai` SDK to it. `complete` honours the signal and
 * rejects with EngineError('model' | 'no_model' | 'unavailable') on failure.
 *
 * The engine has no timers (it never calls `setTimeout`), so it cannot give up on a call by
 * itself: the host must put a timeout on every call (and abort it when the signal fires), or
 * one hung model server stalls the tick. What `complete` resolves with is validated where it
 * enters the planner (planner/model-answer.ts); an answer that does not fit makes the
 * iteration `failed` with the raw answer kept, it does not throw.
 */
export interface LanguageModel {
  /** The model name used when a mission names none; undefined when no model is configured. */
  readonly defaultModel: string | undefined;
  complete(request: ChatRequest, options: { signal: AbortSignal }): Promise<ChatResponse>;
}

export interface ClaimResult {
  granted: boolean;
  /** Who holds the lease ('' when a refusal is not about a lease). */
  holder: string;
  /** Epoch ms (0 when there is no lease). */
  expiresAt: number;
  /** Why a claim was refused: another holder, a plan already written, the budget. */
  refusal?: 'held' | 'planned' | 'budget' | 'clock' | undefined;
  /** The refusal in words, for logs and the person. */
  reason?: string | undefined;
  /**
   * Granted by the adapter itself, not by the claims' owner: the relay was out of reach (or
   * there is none). The rounds planned on it are recorded as unclaimed (`Usage.unclaimedRounds`).
   */
  unclaimed?: boolean | undefined;
}

/**
 * Leases on iteration ids, granted to one holder at a time; an expired lease can be taken over.
 * A device that cannot reach the relay plans anyway: its adapter answers `granted: true` itself,
 * with `unclaimed: true`, when the relay is unreachable (or the host passes no Claims at all). A rejected `claim` is a
 * failure of that mission's tick, reported, not a refusal.
 */
export interface Claims {
  /**
   * `now` is the runner's own clock (epoch ms): the relay refuses a runner whose clock runs far
   * ahead of its own, since what it plans could not be pushed (its stamps would be refused).
   */
  claim(request: {
    iterationId: string;
    holder: string;
    ttlMs: number;
    now?: number | undefined;
    /**
     * The person asked to plan this failed iteration again ("Retry"): granted for a failed
     * iteration whatever the automatic retry rule says (never for a planned or skipped one).
     */
    retry?: boolean | undefined;
  }): Promise<ClaimResult>;
  release(request: { iterationId: string; holder: string }): Promise<void>;
}

/** The sync protocol as the client sees it (section 3 of the design). */
export interface Transport {
  push(request: {
    deviceId: string;
    changes: Change[];
  }): Promise<{ accepted: number; duplicates: number; cursor: string; since?: string | undefined }>;
  pull(request: {
    since: string | undefined;
    limit: number;
  }): Promise<{ changes: Change[]; cursor: string; more: boolean }>;
}
