import type { Actor } from '../model/actor.ts';
import type { Runner } from '../model/iteration.ts';
import type { Decision } from '../model/proposal.ts';
import type { RowOf } from '../model/read-row.ts';
import type { StoreReader, StoreWriter } from '../ports.ts';
import type { PlannerResult } from '../planner/run-planner.ts';
import { proposalIdOf } from '../schedule/slots.ts';
import type { TableName } from '../model/tables.ts';
import type { HlcStamp } from '../sync/hlc.ts';
import type { StoredRow } from '../sync/merge.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { Edit } from './commit.ts';
import { executeStep } from './execute-step.ts';

/**
 * The edits that stage one planning run: the iteration row, a proposal per step, and for steps
 * whose tool policy is `auto`, their execution — all to be committed in one batch. `attempts`
 * is the attempt at the slot this run was (1, or more for a retry of a failure).
 */
export async function stagePlan(options: {
  writer: StoreWriter;
  tools: ToolRegistry;
  mission: RowOf<'missions'>;
  iterationId: string;
  slotIso: string;
  trigger: 'schedule' | 'manual';
  runner: Runner;
  stamp: HlcStamp;
  result: PlannerResult;
  attempts: number;
}): Promise<Edit[]> {
  const { mission, iterationId, result, stamp } = options;
  const systemActor: Actor = {
    kind: 'system',
    source: options.runner.kind === 'relay' ? 'relay' : 'device',
  };
  const edits: Edit[] = [
    {
      table: 'iterations',
      rowId: iterationId,
      actor: systemActor,
      fields: {
        missionId: mission.id,
        slot: options.slotIso,
        trigger: options.trigger,
        runner: options.runner,
        status: result.status,
        plan: result.plan,
        plannedAt: stamp,
        usage: result.usage,
        error: result.error,
        replay: result.replay,
        attempts: options.attempts,
      },
    },
  ];
  const applied = createAppliedEdits(options.writer);
  for (const [stepIndex, step] of (result.plan?.steps ?? []).entries()) {
    const proposalId = proposalIdOf(iterationId, stepIndex);
    const fields = {
      missionId: mission.id,
      iterationId,
      stepIndex,
      tool: step.tool,
      params: step.params,
      rationale: step.rationale,
    };
    // Another plan of this slot, synced in while the model answered, may have had this step
    // decided already: that decision wins, so executing ours would only write a change to undo.
    const decided = (await options.writer.get('proposals', proposalId))?.fields.decision;
    if (mission.tools[step.tool] !== 'auto' || decided) {
      edits.push({
        table: 'proposals',
        rowId: proposalId,
        actor: systemActor,
        fields: { ...fields, status: 'pending' },
      });
      continue;
    }
    const decision: Decision = {
      verdict: 'approved',
      by: systemActor,
      at: stamp,
      step: { tool: step.tool, params: step.params, rationale: step.rationale },
    };
    const proposal = {
      ...fields,
      id: proposalId,
      status: 'approved',
      decision,
      result: null,
      effects: [],
      error: null,
    } as unknown as RowOf<'proposals'>;
    const executed = await executeStep({
      reader: applied.reader,
      tools: options.tools,
      proposal,
      params: step.params,
      decision,
      decidedBy: systemActor,
    });
    const outcome = executed.pop()!;
    applied.add(executed);
    edits.push({ ...outcome, fields: { ...fields, ...outcome.fields } });
  }
  // The data edits go before the proposals that record them: a replica that receives this
  // batch split in pages then never holds an execution's outcome without its data change.
  return [edits[0]!, ...applied.edits(), ...edits.slice(1)];
}

/**
 * The data edits of a plan's auto steps, so that a later step sees what an earlier one did
 * (a second `complete_task` of one task is stale). All edits of one commit share one stamp,
 * where two writes of one field would tie: edits of one row are folded into one, the later
 * step's fields and actor winning.
 */
function createAppliedEdits(base: StoreReader) {
  const byRow = new Map<string, Edit>();
  const overlay = async (row: StoredRow | undefined, table: TableName, id: string) => {
    const edit = byRow.get(`${table}/${id}`);
    if (!edit) return row;
    return {
      table,
      id,
      fields: { ...row?.fields, ...edit.fields },
      stamps: { ...row?.stamps },
    };
  };
  const reader: StoreReader = {
    get: async (table, id) => overlay(await base.get(table, id), table, id),
    getMany: async (keys) =>
      Promise.all(
        (await base.getMany(keys)).map((row, index) =>
          overlay(row, keys[index]!.table, keys[index]!.id),
        ),
      ),
    async list(table, filter) {
      const rows = new Map((await base.list(table)).map((row) => [row.id, row]));
      for (const edit of byRow.values())
        if (edit.table === table) rows.set(edit.rowId, (await reader.get(table, edit.rowId))!);
      return [...rows.values()]
        .filter((row) => filter === undefined || row.fields[filter.field] === filter.equals)
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
  };
  return {
    reader,
    add(edits: Edit[]) {
      for (const edit of edits) {
        const key = `${edit.table}/${edit.rowId}`;
        const current = byRow.get(key);
        byRow.set(key, { ...edit, fields: { ...current?.fields, ...edit.fields } });
      }
    },
    edits: () => [...byRow.values()],
  };
}

/** The edit that records a missed slot without calling the model. */
export function skippedIteration(options: {
  mission: RowOf<'missions'>;
  iterationId: string;
  slotIso: string;
  runner: Runner;
  stamp: HlcStamp;
}): Edit {
  return {
    table: 'iterations',
    rowId: options.iterationId,
    actor: { kind: 'system', source: options.runner.kind === 'relay' ? 'relay' : 'device' },
    fields: {
      missionId: options.mission.id,
      slot: options.slotIso,
      trigger: 'schedule',
      runner: options.runner,
      status: 'skipped',
      plan: null,
      plannedAt: options.stamp,
      usage: null,
      error: null,
      replay: null,
    },
  };
}
