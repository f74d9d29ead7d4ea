import { z } from 'zod';
import { DecisionSchema, EffectSchema, ProposalStatusSchema } from '../model/proposal.ts';
import type { StoreWriter } from '../ports.ts';
import type { Change } from '../sync/change.ts';
import { mergeChange, rowKey, stableJson, type StoredRow } from '../sync/merge.ts';
import type { Edit } from './commit.ts';
import {
  compensationEdits,
  rowsToCompensate,
  type DecidedOutcome,
  type LostDecision,
} from './compensate.ts';
import { supersedeEdits } from './supersede.ts';

/** A proposal's decision group read back from its stored fields. */
const DecidedOutcomeSchema = z.object({
  status: ProposalStatusSchema,
  decision: DecisionSchema,
  effects: z.array(EffectSchema).default([]),
});

function decidedOutcome(fields: Record<string, unknown> | undefined): DecidedOutcome | null {
  const parsed = DecidedOutcomeSchema.safeParse(fields ?? {});
  return parsed.success ? parsed.data : null;
}

function iterationIdOfProposal(proposalId: string): string {
  return proposalId.slice(0, proposalId.lastIndexOf('#'));
}

/**
 * Whether merging left a stored row as it was: the same stamps and the same fields. A change
 * this replica holds already (its own, back from the relay in a poke or a pull) changes nothing,
 * and its row is not written again: an open page would read it again and draw it for nothing.
 */
function unchanged(stored: StoredRow | undefined, merged: StoredRow): boolean {
  if (!stored) return false;
  const names = Object.keys(stored.stamps);
  if (names.length !== Object.keys(merged.stamps).length) return false;
  for (const name of names) if (stored.stamps[name] !== merged.stamps[name]) return false;
  return stableJson(stored.fields) === stableJson(merged.fields);
}

/** The rows `changes` touch, by `rowKey`, in one `getMany`. */
async function readRows(
  writer: StoreWriter,
  changes: readonly Change[],
): Promise<Map<string, StoredRow | undefined>> {
  const keys = new Map<string, { table: Change['table']; id: string }>();
  for (const change of changes)
    keys.set(rowKey(change.table, change.rowId), { table: change.table, id: change.rowId });
  const wanted = [...keys.values()];
  const rows = await writer.getMany(wanted);
  return new Map([...keys.keys()].map((key, index) => [key, rows[index]]));
}

/**
 * Merges changes received from elsewhere into their rows inside the caller's transaction (they
 * are not recorded again), and returns the edits that must follow in the same transaction:
 * - pending proposals of a plan that lost its slot become `superseded`;
 * - an execution of a step whose decision lost (one this replica held before the batch, or one
 *   that arrived in it) gets its data change undone and the winner's result shown (see
 *   compensate.ts). Any replica that sees both decisions writes the same compensation, so it
 *   happens even where the losing runner never merges through this function (the relay's push).
 *   It relies on commit order: an execution's data edits arrive no later than its outcome.
 */
export async function mergeRemoteChanges(options: {
  writer: StoreWriter;
  changes: readonly Change[];
}): Promise<Edit[]> {
  const { writer, changes } = options;
  /** Executed outcomes seen per proposal (held here before the batch, or arriving), by stamp. */
  const executions = new Map<string, Map<string, DecidedOutcome>>();
  const seenProposals = new Set<string>();
  const touchedIterations = new Set<string>();
  const noteExecution = (proposalId: string, outcome: DecidedOutcome | null) => {
    if (!outcome || outcome.status !== 'executed' || outcome.effects.length === 0) return;
    let byStamp = executions.get(proposalId);
    if (!byStamp) executions.set(proposalId, (byStamp = new Map()));
    byStamp.set(outcome.decision.at, outcome);
  };
  // One batched read of every row the page touches, one merge pass over them in memory, one
  // write of the rows the merge changed: a pulled page costs two store round trips, not two
  // per change.
  const stored = await readRows(writer, changes);
  const merged = new Map(stored);
  for (const change of changes) {
    const key = rowKey(change.table, change.rowId);
    const current = merged.get(key);
    if (change.table === 'iterations') touchedIterations.add(change.rowId);
    if (change.table === 'proposals') {
      touchedIterations.add(iterationIdOfProposal(change.rowId));
      if (!seenProposals.has(change.rowId)) {
        seenProposals.add(change.rowId);
        if (current && current.fields._deleted !== true)
          noteExecution(change.rowId, decidedOutcome(current.fields));
      }
      noteExecution(change.rowId, decidedOutcome(change.fields));
    }
    merged.set(key, mergeChange(current, change));
  }
  const changed: StoredRow[] = [];
  for (const [key, row] of merged)
    if (row !== undefined && !unchanged(stored.get(key), row)) changed.push(row);
  if (changed.length > 0) await writer.put(changed);
  const edits = await supersedeEdits({ writer, iterationIds: touchedIterations });
  const losses: LostDecision[] = [];
  const lossIds = new Set<string>();
  for (const [proposalId, byStamp] of executions) {
    const row = await writer.get('proposals', proposalId);
    const won = row ? decidedOutcome(row.fields) : null;
    for (const [at, lost] of byStamp)
      if (at !== won?.decision.at) {
        losses.push({ lost, won });
        lossIds.add(proposalId);
      }
  }
  if (losses.length === 0) return edits;
  const rows = new Map<string, StoredRow>();
  for (const { table, rowId } of rowsToCompensate(losses)) {
    const row = await writer.get(table, rowId);
    if (row) rows.set(rowKey(table, rowId), row);
  }
  // The other executed steps of the same runs: one may have written a field the lost execution
  // overwrote (two plans of a slot doing one thing as different steps).
  const others: DecidedOutcome[] = [];
  const iterationIds = new Set([...lossIds].map(iterationIdOfProposal));
  for (const iterationId of iterationIds)
    for (const proposal of await writer.list('proposals', {
      field: 'iterationId',
      equals: iterationId,
    })) {
      if (lossIds.has(proposal.id) || proposal.fields._deleted === true) continue;
      const outcome = decidedOutcome(proposal.fields);
      if (outcome) others.push(outcome);
    }
  return [...edits, ...compensationEdits({ losses, rows, others })];
}
