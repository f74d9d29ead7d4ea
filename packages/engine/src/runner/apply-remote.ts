import { z } from 'zod';
import { DecisionSchema, EffectSchema, ProposalStatusSchema } from '../model/proposal.ts';
import type { StoreWriter } from '../ports.ts';
import type { Change } from '../sync/change.ts';
import { mergeChange, rowKey, type StoredRow } from '../sync/merge.ts';
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

function decidedOutcome(row: StoredRow | undefined): DecidedOutcome | null {
  if (!row || row.fields._deleted === true) return null;
  const parsed = DecidedOutcomeSchema.safeParse(row.fields);
  return parsed.success ? parsed.data : null;
}

function iterationIdOfProposal(proposalId: string): string {
  return proposalId.slice(0, proposalId.lastIndexOf('#'));
}

/**
 * Merges changes received from elsewhere into their rows inside the caller's transaction (they
 * are not recorded again), and returns the edits that must follow in the same transaction:
 * - pending proposals of a plan that lost its slot become `superseded`;
 * - a proposal executed here whose decision lost to another replica's gets its data change
 *   undone and the winner's result shown (see compensate.ts).
 */
export async function mergeRemoteChanges(options: {
  writer: StoreWriter;
  changes: readonly Change[];
}): Promise<Edit[]> {
  const { writer, changes } = options;
  const executedHere = new Map<string, DecidedOutcome>();
  const seenProposals = new Set<string>();
  const touchedIterations = new Set<string>();
  for (const change of changes) {
    const current = await writer.get(change.table, change.rowId);
    if (change.table === 'iterations') touchedIterations.add(change.rowId);
    if (change.table === 'proposals') {
      touchedIterations.add(iterationIdOfProposal(change.rowId));
      // The decision this replica held before this batch, remembered once per row.
      if (!seenProposals.has(change.rowId)) {
        seenProposals.add(change.rowId);
        const local = decidedOutcome(current);
        if (local && local.status === 'executed' && local.effects.length > 0)
          executedHere.set(change.rowId, local);
      }
    }
    await writer.put([mergeChange(current, change)]);
  }
  const edits = await supersedeEdits({ writer, iterationIds: touchedIterations });
  const losses: LostDecision[] = [];
  for (const [proposalId, lost] of executedHere) {
    const row = await writer.get('proposals', proposalId);
    const decision = row?.fields.decision as { at?: unknown } | null | undefined;
    if (decision?.at === lost.decision.at) continue;
    losses.push({ lost, won: decidedOutcome(row) });
  }
  if (losses.length === 0) return edits;
  const rows = new Map<string, StoredRow>();
  for (const { table, rowId } of rowsToCompensate(losses)) {
    const row = await writer.get(table, rowId);
    if (row) rows.set(rowKey(table, rowId), row);
  }
  return [...edits, ...compensationEdits({ losses, rows })];
}
