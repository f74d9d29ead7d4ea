import { tick } from 'svelte';
import { engineClient } from './engine-client.ts';
import { live } from './live.svelte.ts';
import { listRows } from './queries.ts';
import type { RowTable } from './row-form.ts';

/**
 * The state of a list of the person's rows (tasks, notes, goals): which row's edit form is open
 * (one at a time), and the message of the last change made from the list that failed.
 */
export interface RowList {
  readonly editing: string | null;
  readonly error: string;
  /** Opens the row's edit form, or closes it when it is open. */
  toggle(id: string): void;
  /** Closes the edit form and gives focus back to the row's Edit button. */
  stopEditing(id: string): Promise<void>;
  /** Saves some fields of a row from the list (a checkbox, a +10). */
  change(id: string, fields: Record<string, unknown>): Promise<void>;
  remove(id: string): Promise<void>;
  /** Mission titles by id, for the AI badges. */
  readonly missionTitles: Map<string, string>;
}

export function createRowList(table: RowTable): RowList {
  let editing = $state<string | null>(null);
  let error = $state('');
  const missions = live(
    async () => new Map((await listRows('missions')).map((mission) => [mission.id, mission.title])),
    new Map<string, string>(),
  );
  return {
    get editing() {
      return editing;
    },
    get error() {
      return error;
    },
    get missionTitles() {
      return missions.value;
    },
    toggle(id) {
      editing = editing === id ? null : id;
    },
    async stopEditing(id) {
      editing = null;
      await tick();
      document.getElementById(`edit-button-${id}`)?.focus();
    },
    async change(id, fields) {
      const result = await engineClient().saveRow({ table, id, fields });
      error = result.ok ? '' : result.error.message;
    },
    async remove(id) {
      const result = await engineClient().deleteRow({ table, id });
      error = result.ok ? '' : result.error.message;
    },
  };
}
