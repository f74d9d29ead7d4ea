import type { Actor, Runner } from '@baton/engine';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'medium',
  timeStyle: 'medium',
});
const timeSeconds = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** A time for people: "today 7:30 AM" or a date; `seconds` for slots that can share a minute. */
export function formatTime(
  value: number | string | null | undefined,
  options: { seconds?: boolean } = {},
): string {
  if (value === null || value === undefined || value === '' || value === 0) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  if (options.seconds)
    return sameDay ? `today ${timeSeconds.format(date)}` : dateTimeSeconds.format(date);
  return sameDay ? `today ${timeOnly.format(date)}` : dateTime.format(date);
}

/** Epoch ms of an HLC stamp (`<15 digits>-...`), or NaN. */
export function stampMs(stamp: string | null | undefined): number {
  return stamp ? Number(stamp.slice(0, 15)) : Number.NaN;
}

/** Device names by id (from the engine status), for labels; ids without a name show as ids. */
export type DeviceNames = Record<string, string> | undefined;

/** "dev_abc (Firefox on Android)" when the device's name is known, else the id. */
export function deviceLabel(deviceId: string, names: DeviceNames): string {
  const name = names?.[deviceId];
  return name ? `${deviceId} (${name})` : deviceId;
}

export function runnerLabel(
  runner: Runner,
  deviceId: string | undefined,
  names?: DeviceNames,
): string {
  if (runner.kind === 'relay') return 'the relay';
  return runner.deviceId === deviceId
    ? 'this device'
    : `other device ${deviceLabel(runner.deviceId, names)}`;
}

export function actorLabel(
  actor: Actor | null,
  deviceId: string | undefined,
  names?: DeviceNames,
): string {
  if (!actor) return 'unknown';
  switch (actor.kind) {
    case 'user':
      return actor.deviceId === deviceId
        ? 'you on this device'
        : `you on ${deviceLabel(actor.deviceId, names)}`;
    case 'ai':
      return 'AI';
    case 'system':
      return `system (${actor.source})`;
  }
}

/** Params people read first; synced rows may come back with their keys in another order. */
const paramOrder = ['title', 'name', 'id', 'target', 'body', 'text', 'notes', 'due', 'priority'];
const paramRank = (key: string) => {
  const index = paramOrder.indexOf(key);
  return index === -1 ? paramOrder.length : index;
};

/** Tool params as short `key: value` lines for people, the title first. */
export function describeParams(params: Record<string, unknown>): Array<[string, string]> {
  const entries = Object.entries(params).sort(([a], [b]) => paramRank(a) - paramRank(b));
  return entries.map(([key, value]) => [
    key,
    value === null || value === undefined
      ? '—'
      : typeof value === 'string'
        ? value
        : JSON.stringify(value),
  ]);
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
