import type { TableName } from '../model/tables.ts';

/**
 * A write-once group: fields that are written whole, together, in one change, and where
 * replicas keep the same write whatever order they see them in. `rank` orders two writes of
 * the group: the smaller rank wins; on equal rank, `earliest` says whether the smaller HLC wins
 * (otherwise the larger). Every rule is a total order, which makes merge commutative,
 * associative and idempotent.
 */
export interface WriteOnceGroup {
  name: string;
  fields: readonly string[];
  /** Fields every write to the group must carry. */
  required: readonly string[];
  rank(fields: Record<string, unknown>): number;
  earliest(rank: number): boolean;
}

/**
 * The rank of a failure: in (2, 2.5], smaller (winning) with more attempts, so the failure of a
 * retry replaces the failure it retried, and a slot's attempts never go back.
 */
function failedRank(attempts: unknown): number {
  const count = typeof attempts === 'number' && Number.isSafeInteger(attempts) ? attempts : 1;
  return 2 + 1 / (1 + Math.max(1, count));
}

const iterationPlanning: WriteOnceGroup = {
  name: 'the iteration plan',
  fields: ['status', 'runner', 'plan', 'plannedAt', 'usage', 'error', 'replay', 'attempts'],
  required: ['status', 'runner', 'plannedAt'],
  // A plan beats a skip, a skip beats a failure; among equals the earliest plan wins, so an
  // offline device and the relay planning one slot end with the same plan everywhere. Among
  // failures the one with more attempts wins first (a retry's failure is the later news).
  rank: (fields) => {
    if (fields.status === 'failed') return failedRank(fields.attempts);
    return { planned: 0, skipped: 1 }[String(fields.status)] ?? 3;
  },
  earliest: () => true,
};

const proposalDecision: WriteOnceGroup = {
  name: 'the proposal decision',
  fields: ['status', 'decision', 'result', 'effects', 'error'],
  required: ['status'],
  // A decided write beats an undecided one, and the first decision wins. Undecided writes
  // (pending, superseded, stale) are ordinary last-writer-wins among themselves.
  rank: (fields) => (fields.decision ? 0 : 1),
  earliest: (rank) => rank === 0,
};

const proposalStep: WriteOnceGroup = {
  name: 'the proposal step',
  fields: ['tool', 'params', 'rationale', 'stepIndex', 'missionId', 'iterationId'],
  required: ['tool', 'params', 'stepIndex'],
  // Two plans of one slot write proposals with the same ids; the earliest plan's step wins, as
  // the earliest plan wins the iteration, so a proposal always shows the winning plan's step.
  rank: () => 0,
  earliest: () => true,
};

const groups: Partial<Record<TableName, readonly WriteOnceGroup[]>> = {
  iterations: [iterationPlanning],
  proposals: [proposalDecision, proposalStep],
};

export function writeOnceGroupsOf(table: TableName): readonly WriteOnceGroup[] {
  return groups[table] ?? [];
}

export function isWriteOnceField(table: TableName, field: string): boolean {
  return writeOnceGroupsOf(table).some((group) => group.fields.includes(field));
}
