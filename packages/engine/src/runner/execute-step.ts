import type { Actor } from '../model/actor.ts';
import type { Decision, Effect } from '../model/proposal.ts';
import { readRow, type RowOf } from '../model/read-row.ts';
import { domainTables, type DomainTable } from '../model/tables.ts';
import type { StoreReader } from '../ports.ts';
import type { ToolRegistry } from '../tools/registry.ts';
import type { ToolContext } from '../tools/tool.ts';
import type { Edit } from './commit.ts';

/** Tool context over a store (or a transaction's writer): valid, not deleted rows only. */
export function createToolContext(reader: StoreReader): ToolContext {
  return {
    async get<T extends DomainTable>(table: T, id: string) {
      const row = await reader.get(table, id);
      if (!row || row.fields._deleted === true) return undefined;
      const read = readRow(table, row);
      return read.ok ? read.row : undefined;
    },
    async list<T extends DomainTable>(table: T) {
      const rows = await reader.list(table);
      const result: RowOf<T>[] = [];
      for (const row of rows) {
        if (row.fields._deleted === true) continue;
        const read = readRow(table, row);
        if (read.ok) result.push(read.row);
      }
      return result;
    },
  };
}

/**
 * Executes one approved step inside a transaction: re-checks it against current data, and
 * returns the edits of the data change plus the proposal's outcome fields, to be committed
 * together. `decision` is included so the decision and its effect are one write.
 */
export async function executeStep(options: {
  reader: StoreReader;
  tools: ToolRegistry;
  proposal: RowOf<'proposals'>;
  params: Record<string, unknown>;
  decision: Decision;
  decidedBy: Actor;
}): Promise<Edit[]> {
  const { reader, tools, proposal, decision } = options;
  const aiActor: Actor = {
    kind: 'ai',
    missionId: proposal.missionId,
    iterationId: proposal.iterationId,
    proposalId: proposal.id,
  };
  const outcome = (fields: Record<string, unknown>): Edit => ({
    table: 'proposals',
    rowId: proposal.id,
    fields: { decision, result: null, effects: [], error: null, ...fields },
    actor: options.decidedBy,
  });
  const tool = tools.get(proposal.tool);
  if (!tool || tool.kind !== 'write')
    return [outcome({ status: 'failed', error: `unknown write tool ${proposal.tool}` })];
  const params = tool.params.safeParse(options.params);
  if (!params.success) {
    const issue = params.error.issues[0];
    return [
      outcome({
        status: 'failed',
        error: `invalid params: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
      }),
    ];
  }
  const context = createToolContext(reader);
  let result;
  try {
    result = await tool.execute(params.data as never, { ...context, proposalId: proposal.id });
  } catch (error) {
    return [outcome({ status: 'failed', error: (error as Error).message })];
  }
  if (result.kind === 'stale') return [outcome({ status: 'stale', error: result.reason })];
  const effects: Effect[] = [];
  for (const edit of result.edits) {
    const before = await reader.get(edit.table, edit.rowId);
    const exists = before !== undefined && before.fields._deleted !== true;
    effects.push({
      table: edit.table,
      rowId: edit.rowId,
      before: exists
        ? Object.fromEntries(
            Object.keys(edit.fields).map((name) => [name, before.fields[name] ?? null]),
          )
        : { _deleted: true },
      after: { ...edit.fields },
    });
  }
  return [
    ...result.edits.map((edit): Edit => ({
      table: edit.table,
      rowId: edit.rowId,
      fields: edit.fields,
      actor: aiActor,
    })),
    outcome({ status: 'executed', result: result.result, effects }),
  ];
}

export function isDomainTable(table: string): table is DomainTable {
  return (domainTables as readonly string[]).includes(table);
}
