import type { z } from 'zod';
import type { RowOf } from '../model/read-row.ts';
import type { DomainTable } from '../model/tables.ts';

/** A change a write tool wants: some fields of one row of the person's data. */
export interface RowEdit {
  table: DomainTable;
  rowId: string;
  fields: Record<string, unknown>;
}

/** What tools may read: the current rows of the person's data (valid, not deleted). */
export interface ToolContext {
  get<T extends DomainTable>(table: T, id: string): Promise<RowOf<T> | undefined>;
  list<T extends DomainTable>(table: T): Promise<RowOf<T>[]>;
}

export interface WriteContext extends ToolContext {
  /** The proposal being executed: the ids of rows a tool creates derive from it. */
  proposalId: string;
}

/** A write tool's answer: the edits to make, or why the step is stale now. */
export type WriteOutcome =
  | { kind: 'edits'; edits: RowEdit[]; result: { table: DomainTable; rowId: string } }
  | { kind: 'stale'; reason: string };

interface ToolBase<P> {
  name: string;
  /** The data the tool reads or changes: what a mission must read for the tool to make sense. */
  table: DomainTable;
  description: string;
  params: z.ZodType<P>;
}

/** A read tool runs during planning; its JSON result goes back to the model. */
export interface ReadTool<P = unknown> extends ToolBase<P> {
  kind: 'read';
  execute(params: P, context: ToolContext): Promise<unknown>;
}

/**
 * A write tool never runs during planning: its calls become steps. `execute` is pure: it reads
 * through the context and returns edits (or a stale reason), so every host executes it alike.
 */
export interface WriteTool<P = unknown> extends ToolBase<P> {
  kind: 'write';
  execute(params: P, context: WriteContext): Promise<WriteOutcome>;
}

export type Tool = ReadTool<never> | WriteTool<never>;

export function defineReadTool<P>(tool: Omit<ReadTool<P>, 'kind'>): ReadTool<P> {
  return { ...tool, kind: 'read' };
}

export function defineWriteTool<P>(tool: Omit<WriteTool<P>, 'kind'>): WriteTool<P> {
  return { ...tool, kind: 'write' };
}

/** The id of the row a write step creates: derived from its proposal, so double execution converges. */
export function createdRowId(proposalId: string, table: DomainTable): string {
  return `${proposalId}/${table}`;
}
