/** The bench's results: one printed line each, and all of them as JSON at the end. */
export interface BenchResult {
  database: string;
  measure: string;
  value: string;
}

export function createRecorder() {
  const results: BenchResult[] = [];
  return {
    results,
    record(database: string, measure: string, value: string): void {
      results.push({ database, measure, value });
      process.stdout.write(`${database.padEnd(10)} ${measure.padEnd(58)} ${value}\n`);
    },
  };
}

export type Recorder = ReturnType<typeof createRecorder>;

/** Seconds since `startedMs` (a `performance.now()` reading). */
export const secondsSince = (startedMs: number) => (performance.now() - startedMs) / 1_000;
