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

const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  month: 'short',
  day: 'numeric',
});

/**
 * A due date (`YYYY-MM-DD`, a day in the person's own calendar) for people: "today",
 * "tomorrow", "Mon, Mar 2"; `overdue` when the day has passed.
 */
export function formatDay(iso: string, now: Date = new Date()): { text: string; overdue: boolean } {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!match) return { text: iso, overdue: false };
  const day = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const days = Math.round((day.getTime() - today.getTime()) / 86_400_000);
  const text =
    days === 0
      ? 'today'
      : days === 1
        ? 'tomorrow'
        : days === -1
          ? 'yesterday'
          : dayFormat.format(day);
  return { text, overdue: days < 0 };
}

/** Epoch ms of an HLC stamp (`<15 digits>-...`), or NaN. */
export function stampMs(stamp: string | null | undefined): number {
  return stamp ? Number(stamp.slice(0, 15)) : Number.NaN;
}

/** Device names by id (from the engine status), for labels. */
export type DeviceNames = Record<string, string> | undefined;

/** Words for people plus the raw detail behind them (device ids), for a `title` attribute. */
export interface Label {
  text: string;
  /** The id(s) behind the words; shown on hover, never in place of a name. */
  detail: string | undefined;
}

/** A device by its name when known ("Pixel phone"), else "another device"; the id as detail. */
export function deviceLabel(deviceId: string, names: DeviceNames): Label {
  const name = names?.[deviceId];
  return { text: name ?? 'another device', detail: `device id ${deviceId}` };
}

/** Who planned an iteration: "this device", "Pixel phone" (another device) or "the relay". */
export function runnerLabel(
  runner: Runner,
  deviceId: string | undefined,
  names?: DeviceNames,
): Label {
  if (runner.kind === 'relay') return { text: 'the relay', detail: `relay ${runner.instanceId}` };
  if (runner.deviceId === deviceId)
    return { text: 'this device', detail: `device id ${runner.deviceId}` };
  return deviceLabel(runner.deviceId, names);
}

/** Who made a change or a decision: "you on this device", "you on Pixel phone", "AI". */
export function actorLabel(
  actor: Actor | null,
  deviceId: string | undefined,
  names?: DeviceNames,
): Label {
  if (!actor) return { text: 'unknown', detail: undefined };
  switch (actor.kind) {
    case 'user': {
      if (actor.deviceId === deviceId)
        return { text: 'you on this device', detail: `device id ${actor.deviceId}` };
      const device = deviceLabel(actor.deviceId, names);
      return { text: `you on ${device.text}`, detail: device.detail };
    }
    case 'ai':
      return { text: 'the AI', detail: `iteration ${actor.iterationId}` };
    case 'system':
      return { text: `system (${actor.source})`, detail: undefined };
  }
}

/** Params people read first; synced rows may come back with their keys in another order. */
const paramOrder = [
  'title',
  'name',
  'id',
  'taskId',
  'noteId',
  'goalId',
  'target',
  'body',
  'text',
  'notes',
  'due',
  'priority',
  'progress',
];
const paramRank = (key: string) => {
  const index = paramOrder.indexOf(key);
  return index === -1 ? paramOrder.length : index;
};

/**
 * Tool params as short `key: value` lines for people, the title first. A row id the person has
 * (`taskId: t_…`) shows as that row's title (`task: “Buy milk”`) when `titles` knows it.
 */
export function describeParams(
  params: Record<string, unknown>,
  titles?: ReadonlyMap<string, string>,
): Array<[string, string]> {
  const entries = Object.entries(params)
    // An empty optional value says nothing to a person.
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .sort(([a], [b]) => paramRank(a) - paramRank(b));
  return entries.map(([key, value]) => {
    const title = typeof value === 'string' ? titles?.get(value) : undefined;
    if (title !== undefined && /^[a-z]+Id$/.test(key)) return [key.slice(0, -2), `“${title}”`];
    return [key, typeof value === 'string' ? value : JSON.stringify(value)];
  });
}

/** A tool's name in words: `log_goal_progress` → "Log goal progress". */
export function toolLabel(name: string): string {
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
