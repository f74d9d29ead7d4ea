/**
 * A form filled from stored values that can arrive, or arrive again, while the person types: the
 * first read of a setting, or the re-read after a save on the page.
 */

/**
 * The form's fields once `stored` arrives. A field still as it was last shown (`shown`: the
 * values last read, or those a save just sent) takes the stored value; a field the person changed
 * since keeps what they typed.
 */
export function keepEdits<T extends Record<string, unknown>>(fields: T, shown: T, stored: T): T {
  const next = { ...fields };
  for (const key of Object.keys(stored) as Array<keyof T>) {
    if (Object.is(fields[key], shown[key])) next[key] = stored[key];
  }
  return next;
}
