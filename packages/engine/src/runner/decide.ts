import { EngineError } from '../errors.ts';
import type { Actor } from '../model/actor.ts';
import type { Decision } from '../model/proposal.ts';
import { readRow, readRows, type RowOf } from '../model/read-row.ts';
import type { StoreWriter } from '../ports.ts';
import type { HlcStamp } from '../sync/hlc.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { Edit } from './commit.ts';
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
  const params = { ...proposal.params, ...(request.editedParams ?? {}) };
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

/**
 * The edits that undo an iteration's executed steps, newest first, attributed to the person:
 * each changed row gets its recorded earlier values back; a row the step created is deleted.
 */
export async function revertEdits(options: {
  writer: StoreWriter;
  iterationId: string;
  actor: Actor;
  revertedAt: HlcStamp;
}): Promise<Edit[]> {
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
    .filter((proposal) => proposal.status === 'executed')
    .sort((a, b) => b.stepIndex - a.stepIndex);
  // Every edit of one commit carries the same stamp, so two edits of one field would tie and
  // fall to the larger value: one edit per row, whose fields hold the values from before the
  // earliest step that changed them (walking newest first, older steps overwrite).
  const byRow = new Map<string, Edit>();
  for (const proposal of proposals) {
    for (const effect of [...proposal.effects].reverse()) {
      const key = `${effect.table}/${effect.rowId}`;
      const edit = byRow.get(key);
      if (edit) Object.assign(edit.fields, effect.before);
      else
        byRow.set(key, {
          table: effect.table,
          rowId: effect.rowId,
          fields: { ...effect.before },
          actor,
        });
    }
  }
  const edits: Edit[] = [...byRow.values()];
  edits.push({
    table: 'iterations',
    rowId: iterationId,
    fields: { revertedAt: options.revertedAt },
    actor,
  });
  return edits;
}
