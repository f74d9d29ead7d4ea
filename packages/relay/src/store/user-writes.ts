/**
 * One user's writing transactions run one at a time in this process, in arrival order (claims
 * waiting go first, see `userTransaction`), and each takes a pooled connection only when its
 * turn comes: a flood of one user's pushes and claims waits here, not on the user's advisory
 * lock while holding connections other users need. The advisory lock (`lockUser`) still orders
 * them across processes.
 *
 * Group commit: the writes of one user that are waiting when its turn comes run together in one
 * database transaction (one lock, one commit, one WAL flush), each in a savepoint of its own, so
 * one that throws is rolled back alone and fails alone, as it would in a transaction of its own;
 * a `staged` write (the engine's) needs none: it puts and records through the group, which
 * writes what its writes staged at once (staged-writes.ts). On PostgreSQL the staged writes of a
 * group run side by side, each kept in its place or run again after the others when it read what
 * an earlier one put (`runSideBySide`).
 * Every member's promise settles after the commit, so nothing is reported (a granted claim, a
 * poke) before it is durable. A group is kept small (`maxMembers`, `maxWeight`, a push weighing
 * its changes), so a large push still runs alone and another user's request never waits behind
 * a long one on PGlite, which runs one transaction at a time.
 */
import type { Database, TransactionRunner } from '../db/database.ts';
import { lockUser } from './change-log.ts';
import { refreshDue } from './due-index.ts';
import { createStagedGroup, type StagedRows } from './staged-writes.ts';

/** Writes of one user committed together, at most. */
export const maxMembers = 32;
/** Their summed weight (a push weighs its changes; other writes 1), at most, beyond the first. */
export const maxWeight = 64;

/**
 * How long a group holds PGlite, about, while other work waits for it (PGlite runs one
 * transaction at a time, and every read waits behind it): the members not started by then go
 * to the next group, after what waited.
 */
export const groupSliceMs = 20;

/**
 * What a write shares with the rest of its group, inside the same transaction: the due entries
 * of the missions it touched are recomputed once at the group's end (`refreshDue` reads the rows
 * as they are then), not once per write, which was two statements more, one after the other,
 * for each plan or push waiting in the user's queue; and the newest stamp in the user's log is
 * read once for the group (`latestStamp`, `appended`).
 */
export interface GroupEnd {
  refreshDue(missionIds: Iterable<string>): void;
  /**
   * The newest stamp in the user's log, read once per group (`read`) and from then on kept
   * from what the group's writes append (`appended`): the user's lock keeps every other writer
   * out until the commit. Each plan written asked the database again, one round trip more per
   * member of a group that holds the user's writes up.
   */
  latestStamp(read: () => Promise<string | undefined>): Promise<string | undefined>;
  /**
   * Told of the stamps a write appends to the log. A member rolled back afterwards leaves its
   * stamps counted: a stamp newer than the log holds only moves a clock forward.
   */
  appended(stamps: Iterable<string>): void;
  /**
   * Where a write sent with `staged: true` puts its rows and records its changes: the group
   * writes them all at once (staged-writes.ts). Undefined for other writes.
   */
  readonly staged: StagedRows | undefined;
}

interface Member {
  fn: (runner: TransactionRunner, end: GroupEnd) => Promise<unknown>;
  weight: number;
  first: boolean;
  staged: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface UserQueue {
  members: Member[];
  /** Whether the last group was of `first` writes only (the next one takes the oldest). */
  lastWasFirst: boolean;
}

interface UserQueues {
  waiting: Map<string, UserQueue>;
}

const queuesByDb = new WeakMap<Database, UserQueues>();

/** Each group starts on a later turn of the event loop, after pending I/O (see below). */
const nextTurn = (run: () => void) => setImmediate(run);
const nextTurnDone = () => new Promise<void>((resolve) => nextTurn(resolve));

/**
 * Runs `fn` in a write transaction for `userId`, after the user's earlier ones, under its lock,
 * possibly in one commit with other writes of the same user that wait at the same time.
 * `weight` is roughly the rows it writes (a push: its changes).
 *
 * `first` writes (claims) go ahead of the others waiting: when any wait, the next group is
 * theirs alone, and the group after it takes the oldest writes again, so neither kind waits
 * for ever. A claim is short and a model call waits on it; behind a group of 30 plans being
 * written it waited 100 ms and more while the model had nothing to do. Writes that wait at the
 * same time were sent at the same time: none of them was answered yet, so none can have been
 * sent knowing the other's outcome, and each still runs alone or in a savepoint of its own.
 */
export function userTransaction<T>(
  db: Database,
  userId: string,
  fn: (runner: TransactionRunner, end: GroupEnd) => Promise<T>,
  options: {
    weight?: number;
    first?: boolean;
    /**
     * The write puts and records through `end.staged` alone and writes nothing else: it needs
     * no savepoint (one that throws leaves nothing behind), and its rows and changes are
     * written with the rest of the group's.
     */
    staged?: boolean;
  } = {},
): Promise<T> {
  let queues = queuesByDb.get(db);
  if (!queues) queuesByDb.set(db, (queues = { waiting: new Map() }));
  const { waiting } = queues;
  return new Promise<T>((resolve, reject) => {
    const member: Member = {
      fn,
      weight: Math.max(1, options.weight ?? 1),
      first: options.first === true,
      staged: options.staged === true,
      resolve: resolve as (value: unknown) => void,
      reject,
    };
    const queue = waiting.get(userId);
    if (queue) {
      queue.members.push(member);
      return;
    }
    waiting.set(userId, { members: [member], lastWasFirst: false });
    // Each group starts on a later turn of the event loop: PGlite answers through promises
    // alone, so without it a user's backlog of pushes ran back to back as one chain of
    // microtasks and no other request was even read until it drained. The wait also lets the
    // writes that arrive meanwhile join the group.
    nextTurn(() => void drain(db, waiting, userId));
  });
}

async function drain(db: Database, waiting: Map<string, UserQueue>, userId: string): Promise<void> {
  const queue = waiting.get(userId);
  if (!queue || queue.members.length === 0) {
    waiting.delete(userId);
    return;
  }
  const firstOnly = !queue.lastWasFirst && queue.members.some((member) => member.first);
  queue.lastWasFirst = firstOnly;
  const group = takeGroup(queue.members, firstOnly ? (member) => member.first : () => true);
  // First writes already waiting were passed over on purpose (see `userTransaction`); one that
  // arrives while this group runs ends it early.
  const passedOver = new Set(queue.members.filter((member) => member.first));
  const firstArrived = () =>
    !firstOnly && queue.members.some((member) => member.first && !passedOver.has(member));
  const notRun = await runGroup(db, userId, group, firstArrived);
  // They keep their places, ahead of every write that came after them.
  queue.members.unshift(...notRun);
  if (queue.members.length === 0) waiting.delete(userId);
  else nextTurn(() => void drain(db, waiting, userId));
}

/**
 * Takes the oldest waiting members that `eligible` accepts, in order, up to `maxMembers` and
 * `maxWeight` (the first is taken whatever it weighs); the rest keep their places.
 */
function takeGroup(members: Member[], eligible: (member: Member) => boolean): Member[] {
  const group: Member[] = [];
  let weight = 0;
  for (let index = 0; index < members.length && group.length < maxMembers;) {
    const member = members[index] as Member;
    if (!eligible(member)) {
      index += 1;
      continue;
    }
    if (group.length > 0 && weight + member.weight > maxWeight) break;
    group.push(member);
    weight += member.weight;
    members.splice(index, 1);
  }
  return group;
}

/**
 * Runs `group` in one transaction, and returns the members it left out: those not yet started
 * when a first write (a claim) came (`firstArrived`), or, on PGlite, when other work had been
 * waiting for the database once the group had held it for `groupSliceMs`. A claim sent as 32
 * plans began to be written on PGlite waited 230 ms for them, with the model idle, and the reads
 * the claim's plan made next waited behind the following group again.
 */
async function runGroup(
  db: Database,
  userId: string,
  group: Member[],
  firstArrived: () => boolean,
): Promise<Member[]> {
  const outcomes: Outcome[] = [];
  let notRun: Member[] = [];
  try {
    await db.transaction(async (runner) => {
      const began = performance.now();
      // Not waited for: the group's statements go out behind it on the transaction's one
      // connection, and PostgreSQL runs none of them before the lock is granted (one round trip
      // less per group). If taking it fails, so do the statements after it, and the group fails
      // with its error (awaited before the commit).
      const locking = lockUser(runner, userId);
      locking.catch(() => undefined);
      // A member that threw may have named missions too: recomputing their entries from the
      // rows as they are is right whatever it wrote or did not.
      const dueMissions = new Set<string>();
      let latestRead: Promise<string | undefined> | undefined;
      let appendedNewest: string | undefined;
      const end: GroupEnd = {
        refreshDue(missionIds) {
          for (const missionId of missionIds) dueMissions.add(missionId);
        },
        latestStamp(read) {
          if (!latestRead) {
            const reading = read();
            latestRead = reading;
            // A read that failed is tried again by the next member that asks.
            reading.catch(() => {
              if (latestRead === reading) latestRead = undefined;
            });
          }
          return latestRead.then((latest) => newerStamp(latest, appendedNewest));
        },
        appended(stamps) {
          for (const stamp of stamps) appendedNewest = newerStamp(appendedNewest, stamp);
        },
        staged: undefined,
      };
      const staged = createStagedGroup({ userId, group: end });
      // A staged write runs without a savepoint: it writes nothing itself, and what it staged
      // is dropped when it throws.
      const runStaged = async (member: Member) => {
        const stage = staged.stage();
        const value = await member.fn(runner, { ...end, staged: stage });
        stage.keep();
        return value;
      };
      /**
       * Staged writes on PostgreSQL, all started at once: each one's reads (a plan's iteration
       * and proposals, two round trips) go out while the others' do, on the transaction's one
       * connection, instead of after them; with an instant model, the plans of one user, read
       * one after another, were what a tick waited on. They are kept in their order; one that
       * read a row a write kept before it put (`conflicted`, staged-writes.ts) runs again, then,
       * alone, so each reads what the writes before it put, as when they ran one after another.
       * One that throws is dropped alone, as it would be then.
       */
      const runSideBySide = async (members: Member[]): Promise<Outcome[]> => {
        const runs = members.map((member) => {
          const stage = staged.stage();
          const settled = member.fn(runner, { ...end, staged: stage }).then(
            (value): Outcome => ({ ok: true, value }),
            (error: unknown): Outcome => ({ ok: false, error }),
          );
          return { member, stage, settled };
        });
        const results: Outcome[] = [];
        for (const run of runs) {
          const outcome = await run.settled;
          if (run.stage.conflicted()) {
            try {
              results.push({ ok: true, value: await runStaged(run.member) });
            } catch (error) {
              results.push({ ok: false, error });
            }
            continue;
          }
          if (outcome.ok) run.stage.keep();
          results.push(outcome);
        }
        return results;
      };
      if (group.length === 1) {
        const member = group[0] as Member;
        outcomes.push({
          ok: true,
          value: await (member.staged ? runStaged(member) : member.fn(runner, end)),
        });
      } else {
        for (let index = 0; index < group.length;) {
          const member = group[index] as Member;
          // PGlite runs in this thread and answers through promises alone: a group of 32 plans
          // written back to back (about 3.5 ms each) kept the model's answers and every request
          // from being read for over 100 ms. Between members it lets them in; they wait for
          // the database until the commit, as they would have.
          if (db.kind === 'pglite' && index > 0) await nextTurnDone();
          if (
            index > 0 &&
            (firstArrived() ||
              ((db.queued?.() ?? 0) > 0 && performance.now() - began >= groupSliceMs))
          ) {
            notRun = group.slice(index);
            break;
          }
          if (member.staged && db.kind === 'postgres') {
            // The staged writes that follow one another run side by side (`runSideBySide`).
            let next = index + 1;
            while (next < group.length && (group[next] as Member).staged) next += 1;
            outcomes.push(...(await runSideBySide(group.slice(index, next))));
            index = next;
            continue;
          }
          // A write that reads the tables itself finds what the group staged before it there.
          if (!member.staged) await staged.flush(runner);
          try {
            // A member that throws has its writes undone alone (if even that fails, the whole
            // group fails).
            outcomes.push({
              ok: true,
              value: await (member.staged
                ? runStaged(member)
                : runner.savepoint((inner) => member.fn(inner, end))),
            });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
          index += 1;
        }
      }
      await staged.flush(runner);
      await refreshDue(runner, userId, dueMissions);
      await locking;
    });
  } catch (error) {
    // Nothing was committed: every member run fails with the reason.
    for (const member of group) if (!notRun.includes(member)) member.reject(error);
    return notRun;
  }
  outcomes.forEach((outcome, index) => {
    const member = group[index] as Member;
    if (outcome.ok) member.resolve(outcome.value);
    else member.reject(outcome.error);
  });
  return notRun;
}

/** The newer of two stamps (HLC stamps sort as text, as `max(hlc)` in the log does). */
function newerStamp(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}
