import { EngineError } from '../errors.ts';
import type { Actor } from '../model/actor.ts';
import type { Decision } from '../model/proposal.ts';
import { readRow, readRows, type RowOf } from '../model/read-row.ts';
import type { StoreWriter } from '../ports.ts';
import type { RevertKept } from '../model/iteration.ts';
import type { HlcStamp } from '../sync/hlc.ts';
import { stableJson, type StoredRow } from '../sync/merge.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { Edit } from './commit.ts';
import { applyEditedParams } from './edited-params.ts';
import { executeStep } from './execute-step.ts';

export interface DecideRequest {
  proposalId: string;
  verdict: 'approved' | 'rejected';
  editedParams?: Record<string, unknown> | undefined;
  feedback?: string | undefined;
  actor: Actor;
}

export type DecideOutcome =
  | { kind: 'decided'; status: RowOf<'proposals'>['status']; edits: Edit[] }
  /** Someone decided first (here or on another device); nothing is written. */
  | {
      kind: 'already_decided';
      decision: Decision;
      status: RowOf<'proposals'>['status'];
      edits: [];
    };

async function readProposal(writer: StoreWriter, proposalId: string): Promise<RowOf<'proposals'>> {
  const row = await writer.get('proposals', proposalId);
  if (!row || row.fields._deleted === true)
    throw new EngineError('not_found', `no proposal ${proposalId}`);
  const read = readRow('proposals', row);
  if (!read.ok) throw new EngineError('invalid', read.message);
  return read.row;
}

/**
 * The edits of a decision. Approving executes the step (re-checked against current data) in
 * the same batch as the decision; rejecting records the verdict and feedback. A proposal that
 * already has a decision, or is superseded, is not decided again.
 */
export async function decideEdits(options: {
  writer: StoreWriter;
  tools: ToolRegistry;
  request: DecideRequest;
  stamp: HlcStamp;
}): Promise<DecideOutcome> {
  const { writer, request, stamp } = options;
  const proposal = await readProposal(writer, request.proposalId);
  if (proposal.decision)
    return {
      kind: 'already_decided',
      decision: proposal.decision,
      status: proposal.status,
      edits: [],
    };
  if (proposal.status !== 'pending')
    throw new EngineError(
      'conflict',
      `the proposal is ${proposal.status} and can no longer be decided`,
    );
  const decision: Decision = {
    verdict: request.verdict,
    by: request.actor,
    at: stamp,
    step: {
      tool: proposal.tool,
      params: proposal.params,
      rationale: proposal.rationale.slice(0, 2_000),
    },
    ...(request.editedParams ? { editedParams: request.editedParams } : {}),
    ...(request.feedback ? { feedback: request.feedback } : {}),
  };
  if (request.verdict === 'rejected') {
    const edit: Edit = {
      table: 'proposals',
      rowId: proposal.id,
      actor: request.actor,
      fields: { status: 'rejected', decision, result: null, effects: [], error: null },
    };
    return { kind: 'decided', status: 'rejected', edits: [edit] };
  }
  const params = applyEditedParams({
    params: proposal.params,
    edited: request.editedParams,
    schema: options.tools.get(proposal.tool)?.params,
  });
  const edits = await executeStep({
    reader: writer,
    tools: options.tools,
    proposal,
    params,
    decision,
    decidedBy: request.actor,
  });
  const status = edits.at(-1)!.fields.status as RowOf<'proposals'>['status'];
  if (status === 'failed' && request.editedParams) {
    // Edited params that fail their schema are the person's input: refuse, write nothing.
    throw new EngineError('invalid', String(edits.at(-1)!.fields.error), { field: 'editedParams' });
  }
  return { kind: 'decided', status, edits };
}

/** Who changed a row's field last, in words for the person. */
function describeWriter(actor: unknown): string {
  const kind = (actor as { kind?: unknown } | undefined)?.kind;
  if (kind === 'user') return 'you';
  if (kind === 'ai') return 'a later run';
  return 'a merge';
}

/**
 * The edits that undo an iteration's executed steps, attributed to the person, and what they
 * leave as it is (design §3, "Revert and compensation"). A field goes back to its value from
 * before the earliest step that changed it only while it still holds what the steps wrote: its
 * stamp is the stamp a step of this iteration wrote it with (a decision's `at`), or a later step
 * of it that this revert undoes wrote it over the earlier step's value. A field changed since
 * (by the person, or a later run) is kept, and so is a created row anyone changed since: they
 * are listed in `kept` with the reason, and the iteration records them (`revertKept`).
 */
export async function revertEdits(options: {
  writer: StoreWriter;
  iterationId: string;
  actor: Actor;
  revertedAt: HlcStamp;
}): Promise<{ edits: Edit[]; kept: RevertKept[] }> {
  const { writer, iterationId, actor } = options;
  const row = await writer.get('iterations', iterationId);
  if (!row || row.fields._deleted === true)
    throw new EngineError('not_found', `no iteration ${iterationId}`);
  const iteration = readRow('iterations', row);
  if (!iteration.ok) throw new EngineError('invalid', iteration.message);
  if (iteration.row.revertedAt !== null)
    throw new EngineError('conflict', 'this iteration was already reverted');
  const proposals = readRows(
    'proposals',
    await writer.list('proposals', { field: 'iterationId', equals: iterationId }),
  )
    .filter((proposal) => proposal.status === 'executed' && proposal.decision)
    // Newest first: later decisions, and within one batch (auto steps share its stamp) later steps.
    .sort((a, b) =>
      a.decision!.at < b.decision!.at
        ? 1
        : a.decision!.at > b.decision!.at
          ? -1
          : b.stepIndex - a.stepIndex,
    );
  const stepStamps = new Set(proposals.map((proposal) => proposal.decision!.at));
  interface RowUndo {
    table: RowOf<'proposals'>['effects'][number]['table'];
    rowId: string;
    current: StoredRow | undefined;
    fields: Record<string, unknown>;
    /** Per field: the value the revert puts back so far (an older step may go further back). */
    restored: Map<string, unknown>;
    kept: Map<string, string>;
    created: boolean;
  }
  const undos = new Map<string, RowUndo>();
  // Every edit of one commit carries the same stamp, so one edit per row, walking the steps
  // newest first: an older step's `before` replaces a newer one's when the chain holds.
  for (const proposal of proposals) {
    const stamp = proposal.decision!.at;
    for (const effect of [...proposal.effects].reverse()) {
      const key = `${effect.table}/${effect.rowId}`;
      let undo = undos.get(key);
      if (!undo) {
        undo = {
          table: effect.table,
          rowId: effect.rowId,
          current: await writer.get(effect.table, effect.rowId),
          fields: {},
          restored: new Map(),
          kept: new Map(),
          created: false,
        };
        undos.set(key, undo);
      }
      if (effect.before._deleted === true) {
        undo.created = true;
        continue;
      }
      for (const [name, value] of Object.entries(effect.before)) {
        const holdsStep = undo.current?.stamps[name] === stamp;
        const chained =
          undo.restored.has(name) &&
          effect.after !== undefined &&
          name in effect.after &&
          stableJson(undo.restored.get(name)) === stableJson(effect.after[name]);
        if (holdsStep || chained) {
          undo.restored.set(name, value);
          undo.kept.delete(name);
        } else if (!undo.restored.has(name)) {
          undo.kept.set(name, describeWriter(undo.current?.fields._updatedBy));
        }
      }
    }
  }
  const edits: Edit[] = [];
  const kept: RevertKept[] = [];
  for (const undo of undos.values()) {
    const current = undo.current;
    if (!current || current.fields._deleted === true) continue;
    if (undo.created) {
      // A row a step created goes only while nobody changed it since.
      const changed = Object.entries(current.stamps).filter(
        ([name, stamp]) => !name.startsWith('_') && !stepStamps.has(stamp),
      );
      if (changed.length === 0) {
        edits.push({ table: undo.table, rowId: undo.rowId, fields: { _deleted: true }, actor });
        continue;
      }
      kept.push({
        table: undo.table,
        rowId: undo.rowId,
        fields: changed.map(([name]) => name),
        reason: `kept: ${describeWriter(current.fields._updatedBy)} changed it after the run created it`,
      });
      continue;
    }
    for (const [name, value] of undo.restored) undo.fields[name] = value;
    if (Object.keys(undo.fields).length > 0)
      edits.push({ table: undo.table, rowId: undo.rowId, fields: undo.fields, actor });
    if (undo.kept.size > 0)
      kept.push({
        table: undo.table,
        rowId: undo.rowId,
        fields: [...undo.kept.keys()],
        reason: `kept: changed after the run (last by ${[...new Set(undo.kept.values())].join(', ')})`,
      });
  }
  edits.push({
    table: 'iterations',
    rowId: iterationId,
    fields: {
      revertedAt: options.revertedAt,
      revertKept: kept.length > 0 ? kept.slice(0, 200) : null,
    },
    actor,
  });
  return { edits, kept };
}
