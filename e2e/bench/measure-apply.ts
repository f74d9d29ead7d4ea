/**
 * Apply rate: `rows` task changes wait at the relay; a new device signs in and pulls and applies
 * them into IndexedDB. Two clocks: from the Sign in click until its stored cursor is the relay's
 * last (what a person waits: /v1/me, the live connection and every page), and the apply rate
 * proper, from the first stored page until the last (the changes after the first page over that
 * time; each change here is one row). Beside it, in the same page, the raw baseline: one `put`
 * per row of the same stored rows in one transaction, into a scratch database with the same
 * key and indexes as the app's `rows` store (median of three).
 */
import type { Browser } from '@playwright/test';
import type { Relay } from '../relay-process.ts';
import { newDevice, openSignIn, waitForCursor } from './bench-pages.ts';
import { createTaskChanges, pushToRelay } from './bench-relay-api.ts';

export interface ApplyFigures {
  rows: number;
  /** From the Sign in click until every row was stored. */
  signInToDoneMs: number;
  /** Rows per second from the first stored page to the last. */
  appRowsPerSecond: number;
  /** The rows and time that rate counts. */
  steady: { rows: number; ms: number };
  rawMs: number;
  rawRowsPerSecond: number;
}

export async function measureApply(options: {
  browser: Browser;
  relay: Relay;
  rows: number;
}): Promise<ApplyFigures> {
  const { browser, relay } = options;
  const makeChanges = createTaskChanges({ deviceId: 'bench_seed', idPrefix: 'BS' });
  const changes = makeChanges(
    Array.from({ length: options.rows }, (_, index) => ({
      rowId: `task_seed_${index}`,
      title: `Seeded task ${index}`,
    })),
  );
  const cursor = await pushToRelay(relay, 'bench_seed', changes);

  const context = await newDevice(browser);
  try {
    const page = await context.newPage();
    await openSignIn(page, relay);
    const startedAt = await page.evaluate(() => {
      const button = [...document.querySelectorAll('button')].find(
        (candidate) => candidate.textContent?.trim() === 'Sign in',
      );
      if (!button) throw new Error('no Sign in button');
      const now = Date.now();
      button.click();
      return now;
    });
    const { first, doneAt } = await waitForCursor(page, cursor);
    const raw = await page.evaluate(rawPutBaseline);
    const rawMs = [...raw.runs].sort((a, b) => a - b)[1]!;
    // The bench knows the relay's cursors (`u` and the user's sequence number): the changes
    // between two cursors are the difference.
    const position = (text: string) => Number(text.replace(/^u/, ''));
    const steady = { rows: position(cursor) - position(first.cursor), ms: doneAt - first.at };
    return {
      rows: raw.rows,
      signInToDoneMs: doneAt - startedAt,
      appRowsPerSecond: (steady.rows * 1_000) / steady.ms,
      steady,
      rawMs,
      rawRowsPerSecond: (raw.rows * 1_000) / rawMs,
    };
  } finally {
    await context.close();
  }
}

/**
 * Runs in the page: reads the task rows the app stored, then three times puts them into a fresh
 * scratch database (same key path and indexes as Dexie's `rows`) in one transaction.
 */
async function rawPutBaseline(): Promise<{ rows: number; runs: number[] }> {
  const request = <T>(target: IDBRequest<T>) =>
    new Promise<T>((resolve, reject) => {
      target.onsuccess = () => resolve(target.result);
      target.onerror = () => reject(target.error);
    });
  const open = (name: string, upgrade?: (db: IDBDatabase) => void) => {
    const opening = indexedDB.open(name);
    if (upgrade) opening.onupgradeneeded = () => upgrade(opening.result);
    return request(opening);
  };
  const app = await open('baton');
  const stored = await request(
    app.transaction('rows').objectStore('rows').index('table').getAll('tasks'),
  );
  app.close();
  const runs: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    const name = `bench-scratch-${run}`;
    const scratch = await open(name, (db) => {
      const rows = db.createObjectStore('rows', { keyPath: ['table', 'id'] });
      rows.createIndex('table', 'table');
      rows.createIndex('[table+fields.missionId]', ['table', 'fields.missionId']);
      rows.createIndex('[table+fields.iterationId]', ['table', 'fields.iterationId']);
    });
    const started = performance.now();
    const transaction = scratch.transaction('rows', 'readwrite');
    const store = transaction.objectStore('rows');
    for (const row of stored) store.put(row);
    await new Promise<void>((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
    });
    runs.push(performance.now() - started);
    scratch.close();
    await request(indexedDB.deleteDatabase(name));
  }
  return { rows: stored.length, runs };
}
