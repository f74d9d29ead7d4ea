/**
 * What the simulator saw committed, everywhere: every batch of changes any node recorded, who
 * issued it, and what it overwrote. The write-time invariants are checked here, at the commit
 * that would break them (so the trace points at the culprit); the end-of-history ones read it.
 */
import { domainTables, type TableName } from '../model/tables.ts';
import type { Store, StoreWriter } from '../ports.ts';
import { scheduleSince } from '../schedule/since.ts';
import type { Change } from '../sync/change.ts';
import { hlcWallMs } from '../sync/hlc.ts';
import { isWriteOnceField } from '../sync/merge-rules.ts';
import { rowKey, type StoredRow } from '../sync/merge.ts';
import type { MemoryStore } from '../testing/memory-store.ts';
import { Crashed, type World } from './world.ts';

/** What a change was, for the person-data invariant. */
export type ChangeKind = 'person' | 'ai' | 'revert' | 'compensation' | 'other';

export interface Violation {
  invariant: string;
  message: string;
  at: number;
}

export interface LedgerEntry {
  change: Change;
  kind: ChangeKind;
  /** The node incarnation that recorded it (a host or a relay process). */
  issuer: string;
  /** The device whose outbox holds it; undefined for the relay's own writes. */
  deviceId: string | undefined;
  /** When it was committed (true time). */
  at: number;
}

/** A node whose work can be frozen or crashed: every port call of it goes through `gate`. */
export interface SimNode {
  readonly name: string;
  alive: boolean;
  frozenUntil: number;
  /** Waits while the node is frozen; throws Crashed once it died. */
  gate(): Promise<void>;
}

export function createSimNode(world: World, name: string): SimNode {
  const node: SimNode = {
    name,
    alive: true,
    frozenUntil: 0,
    async gate() {
      while (node.alive && node.frozenUntil > world.now)
        await world.sleep(node.frozenUntil - world.now);
      if (!node.alive) throw new Crashed(`${name} crashed`);
    },
  };
  return node;
}

const domain = new Set<string>(domainTables);

function kindOf(change: Change, revert: boolean): ChangeKind {
  const actor = change.actor;
  if (domain.has(change.table) || change.table === 'missions') {
    if (revert && domain.has(change.table)) return 'revert';
    if (actor.kind === 'system' && actor.source === 'merge') return 'compensation';
    if (actor.kind === 'ai') return 'ai';
    if (actor.kind === 'user') return 'person';
  }
  return 'other';
}

export interface Ledger {
  readonly entries: Map<string, LedgerEntry>;
  readonly violations: Violation[];
  violate(invariant: string, message: string): void;
  /** The kind of the write that stamped `stamp` on a row (undefined: not seen). */
  kindOfStamp(table: TableName, rowId: string, stamp: string): ChangeKind | undefined;
  /**
   * A Store for one node over `inner`: port calls wait on the node's gate, a node that died
   * before its transaction ends commits nothing, and every committed batch is checked and
   * recorded here.
   */
  observe(options: { inner: MemoryStore; node: SimNode; deviceId: string | undefined }): Store;
}

export function createLedger(world: World): Ledger {
  const entries = new Map<string, LedgerEntry>();
  const violations: Violation[] = [];
  const stampKinds = new Map<string, ChangeKind>();
  /** Which batch issued a stamp: two batches with one stamp break invariant 9. */
  const stampOwners = new Map<string, string>();
  let transactions = 0;

  const ledger: Ledger = {
    entries,
    violations,
    violate(invariant, message) {
      violations.push({ invariant, message, at: world.now });
      world.log('judge', `VIOLATION ${invariant}: ${message}`);
    },
    kindOfStamp: (table, rowId, stamp) => stampKinds.get(`${table}/${rowId}@${stamp}`),
    observe({ inner, node, deviceId }) {
      return {
        async get(table, id) {
          await node.gate();
          return inner.get(table, id);
        },
        async getMany(keys) {
          await node.gate();
          return inner.getMany(keys);
        },
        async list(table, filter) {
          await node.gate();
          return inner.list(table, filter);
        },
        async transaction(fn) {
          await node.gate();
          const transaction = `${node.name}#${++transactions}`;
          const batches: { changes: Change[]; before: Map<string, StoredRow | undefined> }[] = [];
          const result = await inner.transaction(async (writer) => {
            const before = new Map<string, StoredRow | undefined>();
            const observed: StoreWriter = {
              get: (table, id) => writer.get(table, id),
              getMany: (keys) => writer.getMany(keys),
              list: (table, filter) => writer.list(table, filter),
              latestStamp: () => writer.latestStamp(),
              async put(rows) {
                for (const row of rows)
                  before.set(rowKey(row.table, row.id), await writer.get(row.table, row.id));
                await writer.put(rows);
              },
              async record(changes) {
                const snapshot = new Map<string, StoredRow | undefined>();
                for (const change of changes) {
                  const key = rowKey(change.table, change.rowId);
                  snapshot.set(key, before.get(key));
                }
                batches.push({ changes, before: snapshot });
                // Invariant 8: no slot from before the mission's schedule edit is recorded as
                // skipped (judged against the mission as this transaction sees it; a plan is
                // judged when its model call starts, its write may land after a later edit).
                for (const change of changes) {
                  if (change.table !== 'iterations' || change.fields.status !== 'skipped') continue;
                  const slot = Date.parse(String(change.fields.slot));
                  const mission = await writer.get('missions', String(change.fields.missionId));
                  if (mission && Number.isFinite(slot) && slot <= scheduleSince(mission))
                    ledger.violate(
                      '8 catch-up',
                      `${node.name} wrote ${change.fields.status} ${change.rowId}, a slot from before the mission's schedule started (${new Date(scheduleSince(mission)).toISOString()})`,
                    );
                }
                await writer.record(changes);
              },
            };
            const value = await fn(observed);
            // A node that died while this ran commits nothing: the transaction is rolled back.
            if (!node.alive) throw new Crashed(`${node.name} crashed before its commit`);
            return value;
          });
          batches.forEach((batch, index) =>
            committed({ ...batch, issuer: node.name, batch: `${transaction}.${index}`, deviceId }),
          );
          return result;
        },
      };
    },
  };

  function committed(options: {
    changes: Change[];
    before: Map<string, StoredRow | undefined>;
    issuer: string;
    batch: string;
    deviceId: string | undefined;
  }): void {
    const { changes, before, issuer } = options;
    const revert = changes.some(
      (change) => change.table === 'iterations' && 'revertedAt' in change.fields,
    );
    for (const stamp of new Set(changes.map((change) => change.hlc))) {
      const owner = stampOwners.get(stamp);
      if (owner !== undefined && owner !== options.batch)
        ledger.violate(
          '9 unique stamps',
          `stamp ${stamp} issued by ${owner} and again by ${options.batch}`,
        );
      else if (owner === undefined) stampOwners.set(stamp, options.batch);
    }
    for (const change of changes) {
      const kind = kindOf(change, revert);
      const debugRow = (globalThis as { simDebugRow?: string }).simDebugRow;
      if (debugRow && `${change.table}/${change.rowId}`.includes(debugRow))
        world.log(
          'debug',
          `${options.batch} ${kind} ${change.table}/${change.rowId} ${change.hlc} ${JSON.stringify(change.fields).slice(0, 300)}`,
        );
      entries.set(change.id, { change, kind, issuer, deviceId: options.deviceId, at: world.now });
      const prior = before.get(rowKey(change.table, change.rowId));
      checkOverwrites({ change, kind, prior, issuer });
      const key = `${change.table}/${change.rowId}@${change.hlc}`;
      stampKinds.set(key, kindOfStampMerge(stampKinds.get(key), kind));
    }
  }

  function kindOfStampMerge(previous: ChangeKind | undefined, kind: ChangeKind): ChangeKind {
    // A batch writes one stamp; a person's write in it is what matters to invariant 3.
    if (previous === 'person' || kind === 'person') return 'person';
    return kind;
  }

  function checkOverwrites(options: {
    change: Change;
    kind: ChangeKind;
    prior: StoredRow | undefined;
    issuer: string;
  }): void {
    const { change, kind, prior, issuer } = options;
    if (!prior) return;
    let reported = false;
    const names =
      '_deleted' in change.fields
        ? Object.keys(prior.stamps).filter((name) => !name.startsWith('_'))
        : Object.keys(change.fields);
    for (const name of names) {
      const stamp = prior.stamps[name];
      if (stamp === undefined) continue;
      // Invariant 9: a local write never loses to what its own replica already holds.
      if (
        !reported &&
        !isWriteOnceField(change.table, name) &&
        name in change.fields &&
        stamp > change.hlc &&
        prior.fields._deleted !== true &&
        (reported = true)
      )
        ledger.violate(
          '9 monotonic clock',
          `${issuer} wrote ${change.table}/${change.rowId}.${name} at ${change.hlc}, older than the ${stamp} already there (its clock had not received it)`,
        );
      // Invariant 3: revert and compensation never overwrite a person's later write.
      if (
        (kind === 'revert' || kind === 'compensation') &&
        change.hlc > stamp &&
        stampKinds.get(`${change.table}/${change.rowId}@${stamp}`) === 'person' &&
        prior.fields._deleted !== true
      )
        ledger.violate(
          '3 person data kept',
          `${issuer}'s ${kind} of ${change.table}/${change.rowId} overwrote ${name}, which a person wrote at ${stamp}`,
        );
    }
  }

  return ledger;
}

/** Wall ms of a row's field stamp (0 when it has none). */
export function stampWall(row: StoredRow | undefined, field: string): number {
  const stamp = row?.stamps[field];
  return stamp ? hlcWallMs(stamp) : 0;
}
