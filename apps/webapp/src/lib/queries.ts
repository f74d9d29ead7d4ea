/**
 * Typed reads for pages, straight from IndexedDB (run inside liveQuery). Rows are validated with
 * the engine's schemas on the way out; deleted and invalid rows are left out.
 */
import { readRows, type RowOf, type StoredRow } from '@baton/engine';
import { pageDb } from './db/page-db.ts';

type Readable = 'missions' | 'iterations' | 'proposals' | 'tasks' | 'notes' | 'goals';

async function tableRows(table: Readable): Promise<StoredRow[]> {
  return pageDb().rows.where('table').equals(table).toArray();
}

export async function listRows<T extends Readable>(table: T): Promise<RowOf<T>[]> {
  return readRows(table, await tableRows(table));
}

export async function getRow<T extends Readable>(
  table: T,
  id: string,
): Promise<RowOf<T> | undefined> {
  const row = await pageDb().rows.get([table, id]);
  return row ? readRows(table, [row])[0] : undefined;
}

export async function rowsOfMission<T extends 'iterations' | 'proposals'>(
  table: T,
  missionId: string,
): Promise<RowOf<T>[]> {
  return readRows(
    table,
    await pageDb().rows.where('[table+fields.missionId]').equals([table, missionId]).toArray(),
  );
}

export async function metaValue(key: 'lastSeenAt' | 'deviceId'): Promise<string | undefined> {
  const entry = await pageDb().meta.get(key);
  return typeof entry?.value === 'string' ? entry.value : undefined;
}

/** Titles of the person's tasks, notes and goals by row id, to name rows that params point at. */
export async function rowTitles(): Promise<Map<string, string>> {
  const titles = new Map<string, string>();
  for (const table of ['tasks', 'notes', 'goals'] as const)
    for (const row of await listRows(table)) titles.set(row.id, row.title);
  return titles;
}

/** The person's tasks, notes and goals as choices (id and title) by table, newest title order. */
export type RowChoices = Record<'tasks' | 'notes' | 'goals', Array<{ id: string; title: string }>>;

export async function rowChoices(): Promise<RowChoices> {
  const choices: RowChoices = { tasks: [], notes: [], goals: [] };
  for (const table of ['tasks', 'notes', 'goals'] as const)
    choices[table] = (await listRows(table))
      .map((row) => ({ id: row.id, title: row.title }))
      .sort((a, b) => a.title.localeCompare(b.title));
  return choices;
}

export type MissionRow = RowOf<'missions'>;
export type IterationRow = RowOf<'iterations'>;
export type ProposalRow = RowOf<'proposals'>;
export type TaskRow = RowOf<'tasks'>;
export type NoteRow = RowOf<'notes'>;
export type GoalRow = RowOf<'goals'>;

export function bySlotDesc(a: IterationRow, b: IterationRow): number {
  return a.slot < b.slot ? 1 : a.slot > b.slot ? -1 : 0;
}
