/**
 * The load figures beside their baselines (measured in issue 9, before admission, the per-user
 * write queue and presence as changes) and their goals, as a markdown table; `writeBenchDoc`
 * adds the table, dated with the load average and commit, to docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from '../src/config.ts';
import { formatMs } from './http-load.ts';
import type { Figure } from './figures.ts';
import type { NeighbourFigures } from './measure-neighbour.ts';
import type { OverloadFigures } from './measure-overload.ts';

export interface LoadFigures {
  storage: string;
  overload?: { rate: number; seconds: number; figures: OverloadFigures };
  neighbour?: NeighbourFigures;
}

/** What issue 9 measured before the fixes (same shape of load, same machine kind). */
const baselines: Record<string, Record<string, string>> = {
  pglite: {
    overload: '200 req/s for 60 s: p99 58 s; 14 % timed out after 60 s on a busy machine',
    neighbour: '–',
  },
  postgres: {
    overload: '–',
    neighbour: 'bob p50 8 ms alone, 2.5 s while alice floods',
  },
};

const goals: Record<string, Record<string, string>> = {
  pglite: { overload: 'p99 < 1 s, none waits a minute', neighbour: 'bob p95 < 200 ms' },
  postgres: { overload: 'p99 < 1 s, none waits a minute', neighbour: 'bob p95 < 50 ms' },
};

/** The load figures as rows of the bench's table (figures.ts). */
export function loadTableRows(rows: readonly LoadFigures[]): Figure[] {
  const figures: Figure[] = [];
  for (const row of rows) {
    const { storage } = row;
    if (row.overload) {
      const { rate, seconds, figures: measured } = row.overload;
      figures.push({
        storage,
        figure: `overload, ${rate} req/s offered for ${seconds} s`,
        thisRun: `offered ${measured.offered.toFixed(0)}/s, served ${measured.served.toFixed(0)}/s; p50 ${formatMs(measured.p50)}, p95 ${formatMs(measured.p95)}, p99 ${formatMs(measured.p99)}; refused ${measured.refused}, failed ${measured.failed}; max ${formatMs(measured.max)}`,
        baseline: baselines[storage]?.overload ?? '–',
        goal: goals[storage]?.overload ?? '–',
      });
    }
    if (row.neighbour) {
      const { alone, flooded, flood } = row.neighbour;
      figures.push({
        storage,
        figure: "noisy neighbour: bob's /me + pull",
        thisRun: `alone p50 ${formatMs(alone.p50)}, p95 ${formatMs(alone.p95)}; alice flooding p50 ${formatMs(flooded.p50)}, p95 ${formatMs(flooded.p95)} (/me ${formatMs(flooded.meP95)}, pull ${formatMs(flooded.pullP95)}; ${flooded.notServed} not served); alice stored ${Math.round(flood.changesPerSecond)} changes/s, ${flood.refused} pushes refused`,
        baseline: baselines[storage]?.neighbour ?? '–',
        goal: goals[storage]?.neighbour ?? '–',
      });
    }
  }
  return figures;
}

/** Where and when: date, load average, commit (with `+dirt` when the tree has changes). */
export function runContext(): string {
  const root = findRepoRoot();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' });
    if (dirty.trim()) commit += '+changes';
  } catch {
    // Not a git checkout.
  }
  const load = loadavg()
    .map((value) => value.toFixed(2))
    .join(', ');
  return `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit}, load average ${load} (1, 5, 15 min)`;
}

const docHeader = `# Benchmarks

Figures from \`npm run bench\` (\`-- --write-docs\` adds a section here). The machine has 2 cores
shared with other work: read each figure beside the load average it was measured under. Newest
first.
`;

export function writeBenchDoc(options: {
  title: string;
  context: string;
  table: string;
  lines: string[];
}): string {
  const path = join(findRepoRoot(), 'docs/benchmarks.md');
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : docHeader;
  const headerEnd = existing.indexOf('\n## ');
  const header = headerEnd === -1 ? existing.trimEnd() : existing.slice(0, headerEnd).trimEnd();
  const older = headerEnd === -1 ? '' : existing.slice(headerEnd + 1);
  const section = [
    `## ${options.title}`,
    '',
    options.context,
    '',
    options.table,
    '',
    'Every line of the run:',
    '',
    '```',
    ...options.lines,
    '```',
    '',
  ].join('\n');
  writeFileSync(path, `${header}\n\n${section}${older ? `\n${older}` : ''}`);
  return path;
}
