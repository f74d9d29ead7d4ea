import { EngineError, invalidFromZod } from './errors.ts';
import { buildExport, type ExportFile } from './export/export-file.ts';
import { importRows, readExportFile, type ImportReport } from './export/import-export.ts';
import type { Actor } from './model/actor.ts';
import type { RevertKept, Runner } from './model/iteration.ts';
import { MissionSchema, type MissionDraft } from './model/mission.ts';
import { readRow, readRows, type RowOf } from './model/read-row.ts';
import { tableSchemas, type DomainTable } from './model/tables.ts';
import type { Claims, Clock, Ids, LanguageModel, Store, StoreWriter } from './ports.ts';
import type { PlannerResult } from './planner/run-planner.ts';
import { mergeRemoteChanges } from './runner/apply-remote.ts';
import { commitEdits, type Edit } from './runner/commit.ts';
import {
  decideEdits,
  revertEdits,
  type DecideOutcome,
  type DecideRequest,
} from './runner/decide.ts';
import { assertManualRunAllowed } from './runner/manual-run.ts';
import { planMission, type PlanningProgress } from './runner/plan-slot.ts';
import { replayIteration, type ReplayOutcome } from './runner/replay-iteration.ts';
import {
  emptyReport,
  planSlot,
  tick,
  type MissionFilter,
  type RunnerDeps,
  type TickReport,
} from './runner/tick.ts';
import { validateCron } from './schedule/slots.ts';
import { ChangeSchema, type Change } from './sync/change.ts';
import { createHlc, type Hlc } from './sync/hlc.ts';
import { stableJson } from './sync/merge.ts';
import { createToolRegistry, type ToolRegistry } from './tools/registry.ts';
import type { Tool } from './tools/tool.ts';

export interface EngineOptions {
  store: Store;
  clock: Clock;
  ids: Ids;
  /** Undefined when no model is configured: planning then fails with a clear `no_model` error. */
  model?: LanguageModel | undefined;
  /** Undefined plans without claims (a device that cannot reach the relay). */
  claims?: Claims | undefined;
  /** This replica's node id: HLC stamps and change `deviceId`. */
  nodeId: string;
  runner: Runner;
  tools?: readonly Tool[];
  hlc?: Hlc;
  claimTtlMs?: number;
  maxRounds?: number;
  onProgress?: (progress: PlanningProgress) => void;
}

export interface ApplyReport {
  applied: number;
  refused: { id: string; message: string }[];
}

function invalid(error: {
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>;
}): EngineError {
  return invalidFromZod(error);
}

/**
 * The engine: the same object in the SharedWorker and on the relay. Every write goes through
 * one store transaction that merges and records its changes.
 */
export function createEngine(options: EngineOptions) {
  const { clock, ids, nodeId } = options;
  const hlc = options.hlc ?? createHlc({ nodeId });
  // Every write transaction first passes the clock beyond the newest stamp in the store: the
  // store may be shared with other hosts (a browser's workers, relay processes) whose writes
  // this host's clock never received.
  const store: Store = {
    get: (table, id) => options.store.get(table, id),
    getMany: (keys) => options.store.getMany(keys),
    list: (table, filter) => options.store.list(table, filter),
    transaction: (fn) =>
      options.store.transaction(async (writer) => {
        const latest = await writer.latestStamp();
        if (latest !== undefined) hlc.receive(latest, clock.now());
        return fn(writer);
      }),
  };
  /**
   * A transaction whose first reads go out together with the read of the store's newest stamp
   * rather than after it: on IndexedDB each awaited request is a round trip, and a person's edit
   * and a device's live apply are the writes someone waits on. Reads answer, and writes go out,
   * only once the clock has received that stamp, so `fn` must tick its stamp after a read.
   */
  function readFirst<T>(fn: (writer: StoreWriter) => Promise<T>): Promise<T> {
    return options.store.transaction(async (writer) => {
      const received = writer.latestStamp().then((latest) => {
        if (latest !== undefined) hlc.receive(latest, clock.now());
      });
      // Its failure is thrown by the first operation that waits for it, not left unhandled.
      received.catch(() => undefined);
      const after = <R>(work: Promise<R>): Promise<R> =>
        Promise.all([work, received]).then(([value]) => value);
      return fn({
        get: (table, id) => after(writer.get(table, id)),
        getMany: (keys) => after(writer.getMany(keys)),
        list: (table, filter) => after(writer.list(table, filter)),
        latestStamp: () => after(writer.latestStamp()),
        put: (rows) => received.then(() => writer.put(rows)),
        record: (changes) => received.then(() => writer.record(changes)),
      });
    });
  }
  const tools: ToolRegistry = createToolRegistry(options.tools);
  const deps: RunnerDeps = {
    store,
    clock,
    ids,
    hlc,
    model: options.model,
    claims: options.claims,
    tools,
    runner: options.runner,
    nodeId,
    claimTtlMs: options.claimTtlMs ?? 5 * 60_000,
    maxRounds: options.maxRounds,
    onProgress: options.onProgress,
  };

  function commit(edits: Edit[]): Promise<Change[]> {
    return readFirst((writer) =>
      commitEdits({ writer, edits, stamp: () => hlc.tick(clock.now()), ids, deviceId: nodeId }),
    );
  }

  async function requireRow<T extends DomainTable | 'missions' | 'iterations'>(
    table: T,
    id: string,
  ): Promise<RowOf<T>> {
    const row = await store.get(table, id);
    if (!row || row.fields._deleted === true)
      throw new EngineError('not_found', `no ${table} row ${id}`);
    const read = readRow(table, row);
    if (!read.ok) throw new EngineError('invalid', read.message);
    return read.row;
  }

  function parseMission(value: unknown) {
    const parsed = MissionSchema.safeParse(value);
    if (!parsed.success) throw invalid(parsed.error);
    if (parsed.data.schedule.kind === 'cron')
      validateCron(parsed.data.schedule.expr, parsed.data.schedule.tz);
    return parsed.data;
  }

  return {
    nodeId,
    hlc,
    tools,

    /** Creates a mission; throws EngineError('invalid', field) and writes nothing on bad input. */
    async createMission(request: {
      draft: MissionDraft;
      actor: Actor;
      id?: string;
    }): Promise<string> {
      const fields = parseMission(request.draft);
      const id = request.id ?? `m_${ids.ulid().toLowerCase()}`;
      await commit([{ table: 'missions', rowId: id, fields, actor: request.actor }]);
      return id;
    },

    /**
     * Changes some fields of a mission, validated as a whole; writes only the fields whose value
     * changes (nothing when none does). Resuming clears the paused reason.
     */
    async updateMission(request: {
      id: string;
      patch: Partial<MissionDraft>;
      actor: Actor;
    }): Promise<void> {
      const current = await requireRow('missions', request.id);
      const patch: Record<string, unknown> = { ...request.patch };
      if (patch.state === 'active') patch.pausedReason = null;
      const merged = parseMission({ ...current, ...patch });
      // Only changed fields are written: an edit form sends the whole mission, and a rewritten
      // `schedule` (or `catchUp`, `state`) would restart the mission's slots (scheduleSince).
      const fields = Object.fromEntries(
        Object.keys(patch)
          .map((name) => [name, merged[name as keyof typeof merged]] as const)
          .filter(
            ([name, value]) =>
              stableJson(value) !== stableJson(current[name as keyof typeof current]),
          ),
      );
      if (Object.keys(fields).length === 0) return;
      await commit([{ table: 'missions', rowId: request.id, fields, actor: request.actor }]);
    },

    /** Creates (no id) or edits a task, note or goal; validated with its schema. Returns the id. */
    async saveRow(request: {
      table: DomainTable;
      id?: string | undefined;
      fields: Record<string, unknown>;
      actor: Actor;
    }): Promise<string> {
      const schema = tableSchemas[request.table];
      if (request.id === undefined) {
        const parsed = schema.safeParse(request.fields);
        if (!parsed.success) throw invalid(parsed.error);
        const id = `${request.table.slice(0, -1)}_${ids.ulid().toLowerCase()}`;
        await commit([
          {
            table: request.table,
            rowId: id,
            fields: parsed.data as Record<string, unknown>,
            actor: request.actor,
          },
        ]);
        return id;
      }
      const current = await requireRow(request.table, request.id);
      const parsed = schema.safeParse({ ...current, ...request.fields });
      if (!parsed.success) throw invalid(parsed.error);
      const data = parsed.data as Record<string, unknown>;
      const fields = Object.fromEntries(
        Object.keys(request.fields)
          .filter((name) => name in data)
          .map((name) => [name, data[name]]),
      );
      if (Object.keys(fields).length > 0)
        await commit([{ table: request.table, rowId: request.id, fields, actor: request.actor }]);
      return request.id;
    },

    async deleteRow(request: {
      table: DomainTable | 'missions';
      id: string;
      actor: Actor;
    }): Promise<void> {
      await requireRow(request.table, request.id);
      await commit([
        {
          table: request.table,
          rowId: request.id,
          fields: { _deleted: true },
          actor: request.actor,
        },
      ]);
    },

    /**
     * Plans every due slot of the active missions that run here, as of `now` (default: the
     * clock): slots, the budget and the "now" the model is told all use it.
     */
    tick(
      request: {
        now?: number;
        signal?: AbortSignal;
        missionFilter?: MissionFilter;
        /** Only these missions (read by id instead of listing every active one). */
        missionIds?: ReadonlySet<string>;
        concurrency?: number;
        /** Told once of each mission as the tick is done with it (see runner/tick.ts). */
        onMissionDone?: (missionId: string) => void;
      } = {},
    ): Promise<TickReport> {
      return tick(deps, {
        now: request.now ?? clock.now(),
        signal: request.signal ?? new AbortController().signal,
        missionFilter: request.missionFilter,
        missionIds: request.missionIds,
        concurrency: request.concurrency,
        onMissionDone: request.onMissionDone,
      });
    },

    /**
     * "Run now": a manual slot at the current time, planned here whatever the schedule. `runOn`
     * is not checked here: the host decides whether its person may run the mission here (the
     * browser refuses relay-only missions, docs/decisions/0008). Refused
     * (nothing written) with EngineError('conflict') for a mission that is done or archived,
     * and EngineError('budget') with the reason when its budget would be passed; a paused
     * mission may be run by hand.
     */
    async runNow(request: {
      missionId: string;
      signal?: AbortSignal;
    }): Promise<{ iterationId: string; report: TickReport }> {
      const mission = await requireRow('missions', request.missionId);
      const now = clock.now();
      await assertManualRunAllowed({ reader: store, mission, now });
      const report = emptyReport();
      const iterationId = await planSlot(deps, {
        mission,
        slotMs: now,
        now,
        trigger: 'manual',
        signal: request.signal ?? new AbortController().signal,
        report,
      });
      return { iterationId, report };
    },

    /**
     * "Retry" of a failed run: plans the failed iteration's slot again, under the same id, as
     * its next attempt (`attempts + 1`), whatever the automatic retry rule says (a permanent
     * failure included: the person asks). One claim, which says it is a retry, so the relay
     * grants it for a failed iteration. Like `runNow`, `runOn` is the host's to check.
     * Refused (nothing written) with EngineError('not_found') for an unknown iteration,
     * EngineError('conflict') for one that is not failed or whose mission is done or archived;
     * a budget spent pauses the mission as a tick would (the retry counts as the run its
     * failure already counted).
     */
    async retryIteration(request: {
      iterationId: string;
      signal?: AbortSignal;
    }): Promise<{ iterationId: string; report: TickReport }> {
      const iteration = await requireRow('iterations', request.iterationId);
      if (iteration.status !== 'failed')
        throw new EngineError(
          'conflict',
          `This run is ${iteration.status}: only a failed run can be retried.`,
        );
      const mission = await requireRow('missions', iteration.missionId);
      if (mission.state === 'done' || mission.state === 'archived')
        throw new EngineError(
          'conflict',
          `"${mission.title}" is ${mission.state}: set it to active or paused to retry its runs.`,
        );
      const report = emptyReport();
      const iterationId = await planSlot(deps, {
        mission,
        slotMs: Date.parse(iteration.slot),
        now: clock.now(),
        trigger: iteration.trigger,
        signal: request.signal ?? new AbortController().signal,
        report,
        retry: true,
      });
      return { iterationId, report };
    },

    /**
     * Plans without claiming or staging anything: what the mission would propose now. Refused
     * like `runNow` (done or archived missions, budget); its tokens are not counted afterwards.
     */
    async dryRun(request: { missionId: string; signal?: AbortSignal }): Promise<PlannerResult> {
      const mission = await requireRow('missions', request.missionId);
      const now = clock.now();
      await assertManualRunAllowed({ reader: store, mission, now });
      return planMission({
        store,
        clock,
        model: options.model,
        tools,
        mission,
        slotMs: now,
        now,
        signal: request.signal ?? new AbortController().signal,
        maxRounds: options.maxRounds,
      });
    },

    /**
     * "Replay with…": a dry run of a past run's slot with the prompt it had, on `model` (default:
     * the mission's, else this host's), beside the plan it recorded. Writes nothing; see
     * runner/replay-iteration.ts for the refusals.
     */
    replayIteration(request: {
      iterationId: string;
      model?: string | undefined;
      signal?: AbortSignal;
    }): Promise<ReplayOutcome> {
      return replayIteration({
        store,
        clock,
        model: options.model,
        tools,
        iterationId: request.iterationId,
        modelName: request.model,
        signal: request.signal ?? new AbortController().signal,
        maxRounds: options.maxRounds,
      });
    },

    /** Approves (executing in the same batch) or rejects a proposal. The first decision wins. */
    async decide(request: DecideRequest): Promise<Omit<DecideOutcome, 'edits'>> {
      if (request.verdict === 'rejected' && request.editedParams)
        throw new EngineError('invalid', 'edited params go with an approval', {
          field: 'editedParams',
        });
      const outcome = await store.transaction(async (writer) => {
        const stamp = hlc.tick(clock.now());
        const decided = await decideEdits({ writer, tools, request, stamp });
        await commitEdits({ writer, edits: decided.edits, stamp, ids, deviceId: nodeId });
        return decided;
      });
      const { edits: _edits, ...rest } = outcome;
      return rest;
    },

    /**
     * Undoes what an iteration's executed steps changed, attributed to the person. Fields and
     * rows changed since the steps are kept as they are (see revertEdits); `kept` lists them
     * with the reason, and the iteration records it for every device to show.
     */
    async revertIteration(request: {
      iterationId: string;
      actor: Actor;
    }): Promise<{ reverted: number; kept: RevertKept[] }> {
      return store.transaction(async (writer) => {
        const stamp = hlc.tick(clock.now());
        const { edits, kept } = await revertEdits({
          writer,
          iterationId: request.iterationId,
          actor: request.actor,
          revertedAt: stamp,
        });
        await commitEdits({ writer, edits, stamp, ids, deviceId: nodeId });
        return { reverted: edits.length - 1, kept };
      });
    },

    async setFeedback(request: {
      iterationId: string;
      feedback: string;
      actor: Actor;
    }): Promise<void> {
      await requireRow('iterations', request.iterationId);
      const feedback = tableSchemas.iterations.shape.feedback.safeParse(
        request.feedback.trim() || null,
      );
      if (!feedback.success) throw invalid(feedback.error);
      await commit([
        {
          table: 'iterations',
          rowId: request.iterationId,
          fields: { feedback: feedback.data },
          actor: request.actor,
        },
      ]);
    },

    /**
     * Merges changes received from elsewhere (not recorded again). A change this version cannot
     * read is refused (named, with the reason), the rest applied in one transaction, together with
     * what follows from them (recorded as this replica's changes): pending proposals of a plan
     * that lost its slot become `superseded`, and a step executed here whose decision lost to
     * an earlier one has its data change undone and the winner's result shown. A stamp far
     * ahead of this clock is applied all the same: the relay judged its drift at push, and a
     * device that skipped what the relay accepted would diverge for good.
     */
    async applyRemote(changes: unknown[]): Promise<ApplyReport> {
      const report: ApplyReport = { applied: 0, refused: [] };
      const valid: Change[] = [];
      for (const candidate of changes) {
        const parsed = ChangeSchema.safeParse(candidate);
        const id = String((candidate as { id?: unknown })?.id ?? '');
        if (!parsed.success) {
          report.refused.push({ id, message: invalid(parsed.error).message });
          continue;
        }
        hlc.receive(parsed.data.hlc, clock.now());
        valid.push(parsed.data as Change);
      }
      if (valid.length === 0) return report;
      await readFirst(async (writer) => {
        const edits = await mergeRemoteChanges({ writer, changes: valid });
        if (edits.length > 0)
          await commitEdits({ writer, edits, stamp: hlc.tick(clock.now()), ids, deviceId: nodeId });
      });
      report.applied = valid.length;
      return report;
    },

    /** Every row of every synced table as one export file (export/export-file.ts). */
    exportData(request: { user?: string | null } = {}): Promise<ExportFile> {
      return buildExport({ store, exportedAt: clock.now(), user: request.user });
    },

    /**
     * Merges an export file into this replica as if its rows had been pulled, and records the
     * changes of the rows it changed for push (export/import-export.ts). A file that does not
     * read is refused whole (EngineError 'invalid', naming the path) and writes nothing.
     */
    async importData(file: unknown): Promise<ImportReport> {
      const read = readExportFile({ file, ids, deviceId: nodeId, now: clock.now() });
      for (const row of read.rows)
        for (const change of row.changes) hlc.receive(change.hlc, clock.now());
      const counts = await store.transaction(async (writer) => {
        const { edits, ...counted } = await importRows({ writer, rows: read.rows });
        if (edits.length > 0)
          await commitEdits({ writer, edits, stamp: hlc.tick(clock.now()), ids, deviceId: nodeId });
        return counted;
      });
      return {
        rows: read.rows.length,
        ...counts,
        user: read.file.user ?? null,
        exportedAt: read.file.exportedAt,
      };
    },

    /** Typed, validated reads for hosts and tests. */
    async rows<T extends 'missions' | 'iterations' | 'proposals' | DomainTable>(
      table: T,
      filter?: { field: string; equals: string | number | boolean | null },
    ): Promise<RowOf<T>[]> {
      return readRows(table, await store.list(table, filter));
    },
  };
}

export type Engine = ReturnType<typeof createEngine>;
