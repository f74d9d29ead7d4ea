import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Database, SqlRunner } from '../db/database.ts';
import { describeOnEachDatabase } from '../testing/describe-on-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { createChangeFactory } from '../testing/test-relay.ts';
import { pushChanges } from './push-changes.ts';
import { createSqlStore } from './sql-store.ts';
import { groupSliceMs, maxWeight, userTransaction } from './user-writes.ts';

/** A promise with its resolve, to hold a write open until the test lets it finish. */
function gate() {
  let open = () => undefined as void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Stores a marker row for `userId` (the users table is the simplest table to write). */
async function mark(runner: SqlRunner, name: string): Promise<string> {
  await runner.query('insert into users (id, name, created_at) values ($1, $1, 0)', [name]);
  return name;
}

async function marks(db: Database): Promise<string[]> {
  const rows = await db.query<{ id: string }>('select id from users order by id');
  return rows.map((row) => row.id);
}

describeOnEachDatabase("one user's writes", (kind) => {
  let db: Database;
  let transactions = 0;

  beforeEach(async () => {
    const real = await createTestDatabase(kind);
    transactions = 0;
    db = {
      ...real,
      kind: real.kind,
      query: real.query.bind(real),
      listen: real.listen.bind(real),
      notify: real.notify.bind(real),
      close: real.close.bind(real),
      transaction: (fn) => {
        transactions += 1;
        return real.transaction(fn);
      },
    };
  });
  afterEach(async () => {
    await db.close();
  });

  it("run one at a time per user, in arrival order, while other users' run", async () => {
    const events: string[] = [];
    const first = gate();
    const a1 = userTransaction(db, 'alice', async (runner) => {
      events.push('a1 start');
      await first.opened;
      events.push('a1 end');
      return mark(runner, 'a1');
    });
    // Queued after a1 started: it waits for a1's commit.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const a2 = userTransaction(db, 'alice', async (runner) => {
      events.push('a2');
      return mark(runner, 'a2');
    });
    const b1 = userTransaction(db, 'bob', async (runner) => {
      events.push('b1');
      return mark(runner, 'b1');
    });
    if (kind === 'postgres') {
      // PostgreSQL runs bob's write beside alice's; PGlite runs one transaction at a time.
      await b1;
      expect(events).toEqual(['a1 start', 'b1']);
    }
    first.open();
    await Promise.all([a1, a2, b1]);
    expect(events.filter((event) => event.startsWith('a'))).toEqual(['a1 start', 'a1 end', 'a2']);
    expect(await marks(db)).toEqual(['a1', 'a2', 'b1']);
  });

  it('commits the writes that wait together in one transaction, each settling after it', async () => {
    const settled: string[] = [];
    const writes = ['w1', 'w2', 'w3', 'w4'].map((name) =>
      userTransaction(db, 'alice', (runner) => mark(runner, name)).then((value) => {
        settled.push(value);
        return value;
      }),
    );
    expect(await Promise.all(writes)).toEqual(['w1', 'w2', 'w3', 'w4']);
    expect(transactions).toBe(1);
    expect(settled).toEqual(['w1', 'w2', 'w3', 'w4']);
    expect(await marks(db)).toEqual(['w1', 'w2', 'w3', 'w4']);
  });

  it('rolls back a failing write alone: the others of its group commit', async () => {
    const ok1 = userTransaction(db, 'alice', (runner) => mark(runner, 'ok1'));
    const broken = userTransaction(db, 'alice', async (runner) => {
      await mark(runner, 'half');
      // The same id again: a unique violation aborts this write's statements.
      return mark(runner, 'half');
    });
    const thrown = userTransaction(db, 'alice', async (runner) => {
      await mark(runner, 'thrown');
      throw new Error('refused by the write itself');
    });
    const ok2 = userTransaction(db, 'alice', (runner) => mark(runner, 'ok2'));
    await expect(broken).rejects.toThrow(/duplicate key/);
    await expect(thrown).rejects.toThrow('refused by the write itself');
    expect(await Promise.all([ok1, ok2])).toEqual(['ok1', 'ok2']);
    expect(transactions).toBe(1);
    expect(await marks(db)).toEqual(['ok1', 'ok2']);
  });

  it('runs a heavy write (a large push) in a group of its own', async () => {
    const writes = [
      userTransaction(db, 'alice', (runner) => mark(runner, 'small1')),
      userTransaction(db, 'alice', (runner) => mark(runner, 'large'), { weight: maxWeight }),
      userTransaction(db, 'alice', (runner) => mark(runner, 'small2')),
    ];
    await Promise.all(writes);
    expect(transactions).toBe(3);
    expect(await marks(db)).toEqual(['large', 'small1', 'small2']);
  });

  it("lets other work (a request being read) run between one user's groups", async () => {
    const events: string[] = [];
    const writes = [1, 2, 3].map((index) =>
      userTransaction(
        db,
        'alice',
        async (runner) => {
          events.push(`a${index}`);
          return mark(runner, `a${index}`);
        },
        { weight: maxWeight },
      ),
    );
    setImmediate(() => events.push('other'));
    await Promise.all(writes);
    expect(events.slice(0, events.indexOf('a3'))).toContain('other');
  });

  it(
    kind === 'pglite'
      ? 'lets other work run between the writes of one group (PGlite runs in this thread)'
      : 'runs the writes of one group in one transaction while other work goes on',
    async () => {
      const events: string[] = [];
      const writes = [1, 2, 3].map((index) =>
        userTransaction(db, 'alice', async (runner) => {
          events.push(`a${index}`);
          if (index === 1) setImmediate(() => events.push('other'));
          return mark(runner, `a${index}`);
        }),
      );
      await Promise.all(writes);
      expect(transactions).toBe(1);
      // On PostgreSQL every statement waits on the network, so other work runs in between anyway.
      expect(events).toEqual(['a1', 'other', 'a2', 'a3']);
    },
  );

  it('runs the waiting first writes (claims) ahead of the others, then the oldest others', async () => {
    const order: string[] = [];
    const hold = gate();
    let late: Promise<string> | undefined;
    const write = (name: string, first = false) =>
      userTransaction(
        db,
        'alice',
        async (runner) => {
          order.push(name);
          // A claim that arrives while the claims' group runs waits for the plans' turn.
          if (name === 'claim1') late = write('claim3', true);
          return mark(runner, name);
        },
        { first },
      );
    // A write in progress, holding the user's turn while the rest queue behind it.
    const running = userTransaction(db, 'alice', async (runner) => {
      await hold.opened;
      return mark(runner, 'running');
    });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const queued = [write('plan1'), write('plan2'), write('claim1', true), write('claim2', true)];
    hold.open();
    await Promise.all([running, ...queued]);
    await late;
    expect(order).toEqual(['claim1', 'claim2', 'plan1', 'plan2', 'claim3']);
    // The holder; the claims; the plans, oldest first, and the late claim after them.
    expect(transactions).toBe(3);
    expect(await marks(db)).toEqual(['claim1', 'claim2', 'claim3', 'plan1', 'plan2', 'running']);
  });

  it('ends a group of writes early for a first write (a claim) sent while it runs', async () => {
    const order: string[] = [];
    let claim: Promise<string> | undefined;
    const plans = [1, 2, 3].map((index) =>
      userTransaction(db, 'alice', async (runner) => {
        order.push(`plan${index}`);
        if (index === 1)
          claim = userTransaction(
            db,
            'alice',
            async (inner) => {
              order.push('claim');
              return mark(inner, 'claim');
            },
            { first: true },
          );
        return mark(runner, `plan${index}`);
      }),
    );
    expect(await Promise.all(plans)).toEqual(['plan1', 'plan2', 'plan3']);
    expect(await claim).toBe('claim');
    // The claim waits for the plan being written, not for the two after it, which keep their
    // places ahead of anything sent later.
    expect(order).toEqual(['plan1', 'claim', 'plan2', 'plan3']);
    expect(transactions).toBe(3);
    expect(await marks(db)).toEqual(['claim', 'plan1', 'plan2', 'plan3']);
  });

  it('lets in a read waiting for the database once a group has held it for a while', async () => {
    const events: string[] = [];
    const writes = [1, 2, 3].map((index) =>
      userTransaction(db, 'alice', async (runner) => {
        if (index === 1) {
          void db.query('select 1').then(() => events.push('read'));
          await new Promise((resolve) => setTimeout(resolve, groupSliceMs + 5));
        }
        events.push(`w${index}`);
        return mark(runner, `w${index}`);
      }),
    );
    await Promise.all(writes);
    if (kind === 'pglite') {
      // PGlite runs one transaction at a time: the read waited for the first write alone.
      expect(events).toEqual(['w1', 'read', 'w2', 'w3']);
      expect(transactions).toBe(2);
    } else {
      // PostgreSQL ran it on a connection of its own: the group was not cut.
      expect(events.filter((event) => event !== 'read')).toEqual(['w1', 'w2', 'w3']);
      expect(transactions).toBe(1);
    }
    expect(await marks(db)).toEqual(['w1', 'w2', 'w3']);
  });

  it('keeps to its group a write whose group ended early, failing alone when it fails', async () => {
    let claim: Promise<string> | undefined;
    const results = await Promise.allSettled(
      [1, 2, 3].map((index) =>
        userTransaction(db, 'alice', async (runner) => {
          if (index === 1)
            claim = userTransaction(db, 'alice', (inner) => mark(inner, 'claim'), {
              first: true,
            });
          if (index === 2) throw new Error('plan2 refused');
          return mark(runner, `plan${index}`);
        }),
      ),
    );
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await claim).toBe('claim');
    expect(await marks(db)).toEqual(['claim', 'plan1', 'plan3']);
  });

  it("tells a write the newest stamp in the user's log, counting what its group appended before it", async () => {
    const store = createSqlStore({ db }).forUser('alice');
    const change = (wallMs: number, idPrefix: string) =>
      createChangeFactory({ wallMs, idPrefix })(`t_${idPrefix}`);
    const older = change(1_000, 'A');
    const newer = change(2_000, 'B');
    await pushChanges({ db, userId: 'alice', changes: [older], now: 0 });
    const hold = gate();
    const running = userTransaction(db, 'alice', async () => {
      await hold.opened;
    });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    // One group: a write that reads the newest stamp, a push, a write that reads it again.
    const before = store.transaction((writer) => writer.latestStamp());
    const pushed = pushChanges({ db, userId: 'alice', changes: [newer], now: 0 });
    const after = store.transaction((writer) => writer.latestStamp());
    hold.open();
    await running;
    expect(await before).toBe(older.hlc);
    expect(await pushed).toMatchObject({ accepted: 1 });
    expect(await after).toBe(newer.hlc);
    expect(transactions).toBe(3);
  });

  it('fails every write of a group whose commit fails, and goes on with the next', async () => {
    const first = userTransaction(db, 'alice', (runner) => mark(runner, 'kept'));
    await first;
    // A write that succeeds but breaks a deferred constraint: the commit itself fails.
    const lost = userTransaction(db, 'alice', (runner) => mark(runner, 'lost'));
    const breaking = userTransaction(db, 'alice', async (runner) => {
      // (The failed commit takes the table away with everything else.)
      await runner.query(
        `create temp table deferred_check (id int primary key,
           parent int references deferred_check (id) deferrable initially deferred)`,
      );
      await runner.query('insert into deferred_check values (1, 2)');
    });
    const next = lost
      .catch(() => undefined)
      .then(() => userTransaction(db, 'alice', (runner) => mark(runner, 'next')));
    await expect(lost).rejects.toThrow(/foreign key/);
    await expect(breaking).rejects.toThrow(/foreign key/);
    expect(await next).toBe('next');
    expect(await marks(db)).toEqual(['kept', 'next']);
  });
});
