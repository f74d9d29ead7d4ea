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

export function runnerLabel(runner: Runner, deviceId: string | undefined): string {
  if (runner.kind === 'relay') return 'the relay';
  return runner.deviceId === deviceId ? 'this device' : `other device ${runner.deviceId}`;
}

export function actorLabel(actor: Actor | null, deviceId: string | undefined): string {
  if (!actor) return 'unknown';
  switch (actor.kind) {
    case 'user':
      return actor.deviceId === deviceId ? 'you on this device' : `you on ${actor.deviceId}`;
    case 'ai':
      return 'AI';
    case 'system':
      return `system (${actor.source})`;
  }
}

/** Tool params as short `key: value` lines for people. */
export function describeParams(params: Record<string, unknown>): Array<[string, string]> {
  return Object.entries(params).map(([key, value]) => [
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
