/**
 * How far V8 lets the relay's heap grow before its next full collection. By default it may grow
 * to up to four times what the last one left, and a push's objects (its parsed body, the checked
 * changes, the merged rows, the statements' text) outlive a young-generation collection or two
 * while the push runs, so they end up in the old generation as garbage: on PostgreSQL, one user's
 * 100 pushes of 1,000 changes took the process from 87 MB to a peak of 185–198 MB, with two full
 * collections in the whole run (issue 10's goal is 200 MB). Doubled at most, the peak was
 * 142–150 MB; the pushes took about 3 % longer (docs/benchmarks.md).
 *
 * A process-wide V8 setting, read each time V8 sets the next limit, so it may be set after start:
 * the relay's `main.ts` sets it first thing, and the bench (bench/run.ts) measures under it too.
 */
import { setFlagsFromString } from 'node:v8';

export const heapGrowingPercent = 100;

export function limitHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
}
