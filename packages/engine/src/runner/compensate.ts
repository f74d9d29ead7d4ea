import type { Actor } from '../model/actor.ts';
import type { Decision, Effect, ProposalStatus } from '../model/proposal.ts';
import { fieldSchema, type DomainTable } from '../model/tables.ts';
import type { HlcStamp } from '../sync/hlc.ts';
import { rowKey, stableJson, type StoredRow } from '../sync/merge.ts';
import type { Edit } from './commit.ts';

/** A proposal's decision group as far as compensation needs it. */
export interface DecidedOutcome {
  decision: Decision;
  status: ProposalStatus;
  effects: Effect[];
}

/**
 * One proposal whose execution on this replica lost to another decision: `lost` was executed
 * here (its data change is in the rows), `won` is the decision every replica keeps.
 */
export interface LostDecision {
  lost: DecidedOutcome;
  /** Null when the winning decision cannot be read: the lost change is undone all the same. */
  won: DecidedOutcome | null;
}

const mergeActor: Actor = { kind: 'system', source: 'merge' };

/** The rows whose current state `compensationEdits` needs: those the lost executions touched. */
export function rowsToCompensate(losses: readonly LostDecision[]): {
  table: DomainTable;
  rowId: string;
}[] {
  const rows = new Map<string, { table: DomainTable; rowId: string }>();
  for (const { lost } of losses)
    for (const effect of lost.effects)
      rows.set(rowKey(effect.table, effect.rowId), { table: effect.table, rowId: effect.rowId });
  return [...rows.values()];
}

interface RowPlan {
  table: DomainTable;
  rowId: string;
  /** The stamps the lost executions wrote this row with. */
  lostStamps: Set<HlcStamp>;
  /** Field values to put back, from the earliest lost execution that wrote each field. */
  restore: Map<string, { value: unknown; at: HlcStamp }>;
  /** Field values the winning executions wrote, the latest winner last. */
  overlay: Map<string, { value: unknown; at: HlcStamp }>;
  /** The lost executions that wrote each field. */
  writers: Map<string, Set<DecidedOutcome>>;
  /**
   * Fields another proposal's execution keeps: written even when they already hold its value,
   * so they stop being the lost execution's write (the field's stamp says whose write it is).
   */
  rewrite: Set<string>;
  /**
   * For a field a winner laid its value on: the stamps of its own proposal's lost executions.
   * The field may keep its stamp when it already holds the value only while one of those wrote
   * it last; a later lost execution of another step must stop being the field's writer.
   */
  overlayOwn: Map<string, Set<HlcStamp>>;
  created: boolean;
}

/**
 * The edits that undo data changes of executions that lost their decision, and show the
 * winners' results instead, as one edit per row by `{kind:'system', source:'merge'}`.
 *
 * For each row a lost execution touched: a row it created is deleted, unless a winning
 * execution wrote that row too or someone changed a field of it since (then it is kept); every field it wrote goes back to its `before` value (of the
 * earliest lost execution that wrote it), then the winners' `after` values are laid over it,
 * so the row shows the winning decision's result. A field is only changed while it still
 * holds the lost execution's write (its stamp is the lost decision's stamp, which is the stamp
 * its data change was committed with): a later edit by the person is kept. Winners' fields on
 * rows no lost execution touched are already right (they arrived with the winner's batch).
 *
 * Pure: `rows` holds the current state of the rows `rowsToCompensate` names (missing = none).
 */
export function compensationEdits(options: {
  losses: readonly LostDecision[];
  rows: ReadonlyMap<string, StoredRow>;
  /**
   * Executions of other proposals that keep their decision (the winning plan's other steps):
   * where one wrote a field a lost execution overwrote, before it, its value is the one to show
   * once the lost write is undone, not the lost execution's `before`.
   */
  others?: readonly DecidedOutcome[];
}): Edit[] {
  const plans = new Map<string, RowPlan>();
  const byStamp = (a: DecidedOutcome, b: DecidedOutcome) =>
    a.decision.at < b.decision.at ? -1 : a.decision.at > b.decision.at ? 1 : 0;
  const lost = options.losses.map((loss) => loss.lost).sort(byStamp);
  // Later losers first, so the earliest loser's `before` is the one left standing.
  for (const outcome of [...lost].reverse()) {
    for (const effect of [...outcome.effects].reverse()) {
      const key = rowKey(effect.table, effect.rowId);
      let plan = plans.get(key);
      if (!plan) {
        plan = {
          table: effect.table,
          rowId: effect.rowId,
          lostStamps: new Set(),
          restore: new Map(),
          overlay: new Map(),
          writers: new Map(),
          rewrite: new Set(),
          overlayOwn: new Map(),
          created: false,
        };
        plans.set(key, plan);
      }
      plan.lostStamps.add(outcome.decision.at);
      for (const [name, value] of Object.entries(effect.before)) {
        if (name === '_deleted') plan.created = plan.created || value === true;
        else plan.restore.set(name, { value, at: outcome.decision.at });
      }
      // The fields it wrote: those it changed, and all of a row it created.
      for (const name of [...Object.keys(effect.before), ...Object.keys(effect.after ?? {})]) {
        if (name.startsWith('_')) continue;
        const writers = plan.writers.get(name) ?? new Set<DecidedOutcome>();
        plan.writers.set(name, writers.add(outcome));
      }
    }
  }
  const others = (options.others ?? [])
    .filter((other) => other.status === 'executed' && other.decision.verdict === 'approved')
    .sort(byStamp);
  for (const other of others) {
    for (const effect of other.effects) {
      const plan = plans.get(rowKey(effect.table, effect.rowId));
      if (!plan || !effect.after) continue;
      for (const [name, value] of Object.entries(effect.after)) {
        const restore = plan.restore.get(name);
        if (!restore || other.decision.at >= restore.at) continue;
        plan.overlay.set(name, { value, at: other.decision.at });
        plan.rewrite.add(name);
      }
    }
  }
  // Each winner over its own loser's fields, the latest winner last. On a field only other
  // proposals' losers wrote, the winner's write is taken over even where the value is the same.
  const winners = options.losses
    .filter(
      (loss): loss is LostDecision & { won: DecidedOutcome } =>
        loss.won !== null &&
        loss.won.status === 'executed' &&
        loss.won.decision.verdict === 'approved',
    )
    .sort((a, b) => byStamp(a.won, b.won));
  for (const { lost: loser, won } of winners) {
    // The lost executions of the same proposal (`apply-remote.ts` reads one winner per proposal).
    const own = new Set(
      options.losses.filter((loss) => loss.won === won).map((loss) => loss.lost.decision.at),
    );
    for (const effect of won.effects) {
      const plan = plans.get(rowKey(effect.table, effect.rowId));
      if (!plan || !effect.after) continue;
      for (const [name, value] of Object.entries(effect.after)) {
        plan.overlay.set(name, { value, at: won.decision.at });
        if (!plan.writers.get(name)?.has(loser)) plan.rewrite.add(name);
        else plan.overlayOwn.set(name, own);
      }
    }
  }
  const edits: Edit[] = [];
  for (const [key, plan] of plans) {
    const row = options.rows.get(key);
    const deleted = row === undefined || row.fields._deleted === true;
    if (plan.created && plan.overlay.size === 0) {
      // A created row goes only while it holds nothing but the lost executions' writes: a row
      // the person (or anyone) changed since is theirs now, and stays.
      const changedSince =
        row !== undefined &&
        Object.entries(row.stamps).some(
          ([name, stamp]) => !name.startsWith('_') && !plan.lostStamps.has(stamp),
        );
      if (!deleted && !changedSince) {
        edits.push({
          table: plan.table,
          rowId: plan.rowId,
          fields: { _deleted: true },
          actor: mergeActor,
        });
        continue;
      }
      // It stays, but a later lost execution's change to it (a step that completed it, say) is
      // still undone below, field by field, as on any other row.
    }
    // A deleted row stays deleted (a delete is final); nothing to show on it.
    if (deleted) continue;
    const targets = new Map<string, unknown>();
    for (const [name, { value }] of plan.restore) targets.set(name, value);
    for (const [name, { value }] of plan.overlay) targets.set(name, value);
    const fields: Record<string, unknown> = {};
    for (const [name, value] of targets) {
      const stamp = row.stamps[name];
      if (stamp === undefined || !plan.lostStamps.has(stamp)) continue;
      if (
        stableJson(row.fields[name]) === stableJson(value) &&
        !plan.rewrite.has(name) &&
        (plan.overlayOwn.get(name)?.has(stamp) ?? true)
      )
        continue;
      // A recorded value this version cannot write (a field it does not know) is left alone
      // rather than refusing the whole batch it arrived with.
      if (fieldSchema(plan.table, name)?.safeParse(value).success !== true) continue;
      fields[name] = value;
    }
    if (Object.keys(fields).length > 0)
      edits.push({ table: plan.table, rowId: plan.rowId, fields, actor: mergeActor });
  }
  return edits;
}
