import { readRow, readRows } from '../model/read-row.ts';
import type { StoreWriter } from '../ports.ts';
import type { Edit } from './commit.ts';

/**
 * When two plans of one slot met, the iteration keeps the winning plan, and each proposal id
 * keeps the winning plan's step. Proposals beyond the winning plan's steps came from the losing
 * plan: the pending ones become `superseded`; decided ones stay as history. A superseded one
 * whose step the current winner has (a third, earlier plan won) is pending again, so the status
 * follows the winner whatever order the plans arrive in.
 */
export async function supersedeEdits(options: {
  writer: StoreWriter;
  iterationIds: Iterable<string>;
}): Promise<Edit[]> {
  const edits: Edit[] = [];
  for (const iterationId of options.iterationIds) {
    const row = await options.writer.get('iterations', iterationId);
    // Proposals can arrive before their iteration (changes delivered out of commit order): until
    // a planned iteration is here there is no plan to compare with, and a planned plan always
    // beats a failed or skipped one, so only a planned iteration can supersede anything. An
    // iteration this version cannot read supersedes nothing either.
    const read = row && row.fields._deleted !== true ? readRow('iterations', row) : undefined;
    if (!read?.ok || read.row.status !== 'planned') continue;
    const stepCount = read.row.plan?.steps.length ?? 0;
    const proposals = readRows(
      'proposals',
      await options.writer.list('proposals', { field: 'iterationId', equals: iterationId }),
    );
    for (const proposal of proposals) {
      if (proposal.status === 'pending' && proposal.stepIndex >= stepCount) {
        edits.push({
          table: 'proposals',
          rowId: proposal.id,
          fields: { status: 'superseded' },
          actor: { kind: 'system', source: 'merge' },
        });
      }
      // A plan that lost to one with fewer steps can lose to a third, earlier plan that has
      // them: the winner has this step again, so it waits for a decision again.
      if (
        proposal.status === 'superseded' &&
        !proposal.decision &&
        proposal.stepIndex < stepCount
      ) {
        edits.push({
          table: 'proposals',
          rowId: proposal.id,
          fields: { status: 'pending' },
          actor: { kind: 'system', source: 'merge' },
        });
      }
    }
  }
  return edits;
}
