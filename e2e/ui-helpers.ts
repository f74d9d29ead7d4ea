/**
 * Helpers for the UI journeys beyond fixtures.ts: naming a device, creating a mission with a
 * near slot and a chosen runOn, and reading the relay's rows the way the relay merges them.
 */
import {
  mergeChanges,
  parseChange,
  readRows,
  type RowOf,
  type StoredRow,
  type TableName,
} from '@baton/engine';
import { expect, relayChanges, type NearDueMission, type Relay } from './fixtures.ts';
import type { Page } from '@playwright/test';

/** Names this device in Settings (other devices then show the name), as a person does. */
export async function nameDevice(page: Page, name: string): Promise<void> {
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  const field = page.getByLabel('Device name');
  // The form fills itself from the worker once loaded; typing earlier would be overwritten.
  await expect(field).not.toHaveValue('');
  await field.fill(name);
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByText('Saved. Your other devices show this name.')).toBeVisible();
}

/** Creates a mission from a whole draft through the worker's API (`window.baton.createMission`),
 * for what the form cannot express; returns its id. */
export async function createMissionDraft(
  page: Page,
  draft: Record<string, unknown>,
): Promise<string> {
  await page.waitForFunction(() => 'baton' in window);
  const result = await page.evaluate(async (input) => {
    const baton = (
      window as unknown as {
        baton: {
          createMission: (
            draft: Record<string, unknown>,
          ) => Promise<{ ok: boolean; value?: { id: string }; error?: unknown }>;
        };
      }
    ).baton;
    return baton.createMission(input);
  }, draft);
  if (!result.ok || !result.value)
    throw new Error(`createMission refused: ${JSON.stringify(result.error)}`);
  return result.value.id;
}

/**
 * Like fixtures' createNearDueMission, with a chosen `runOn`: a mission repeating every
 * `everyMs` whose first slot falls `dueInMs` from now, created through `window.baton`.
 */
export async function createMissionDueSoon(
  page: Page,
  options: {
    title: string;
    objective: string;
    dueInMs: number;
    everyMs: number;
    runOn: 'any' | 'device' | 'relay';
  },
): Promise<NearDueMission> {
  const slotMs = Math.ceil((Date.now() + options.dueInMs) / 1000) * 1000;
  const draft = {
    title: options.title,
    objective: options.objective,
    runOn: options.runOn,
    schedule: { kind: 'interval', everyMs: options.everyMs, anchor: slotMs - options.everyMs },
    tools: { list_tasks: 'auto', create_task: 'propose' },
  };
  const missionId = await createMissionDraft(page, draft);
  return { missionId, slotMs, iterationId: `${missionId}@${new Date(slotMs).toISOString()}` };
}

/**
 * The relay's current rows of one table: every change it holds (pulled, validated with the
 * engine's change schema), folded with the engine's own `mergeChanges` — the fold the relay's
 * rows table keeps — and read through the table's schema. Deleted rows are left out.
 */
export async function relayMergedRows<T extends TableName>(
  relay: Relay,
  table: T,
): Promise<RowOf<T>[]> {
  const changes = (await relayChanges(relay))
    .filter((change) => change.table === table)
    .map((change) => parseChange(change));
  const rows = mergeChanges(new Map<string, StoredRow>(), changes);
  return readRows(table, [...rows.values()], (message) => {
    throw new Error(`the relay holds an invalid row: ${message}`);
  });
}
