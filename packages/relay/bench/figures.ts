/**
 * The bench's figures beside their baselines and goals: one row per storage and measure, printed
 * as a markdown table at the end of a run and written to docs/benchmarks.md with `--write-docs`.
 * Baselines are what issues 9 and 10 measured from outside before the work they asked for.
 */
export interface Figure {
  storage: string;
  figure: string;
  thisRun: string;
  baseline: string;
  goal: string;
}

export function createFigures() {
  const figures: Figure[] = [];
  return {
    figures,
    add(figure: Figure): void {
      figures.push(figure);
    },
  };
}

export type Figures = ReturnType<typeof createFigures>;

export function figuresTable(figures: readonly Figure[]): string {
  return [
    '| storage | figure | this run | baseline (before) | goal |',
    '| --- | --- | --- | --- | --- |',
    ...figures.map(
      (row) =>
        `| ${row.storage} | ${row.figure} | ${row.thisRun} | ${row.baseline} | ${row.goal} |`,
    ),
  ].join('\n');
}
