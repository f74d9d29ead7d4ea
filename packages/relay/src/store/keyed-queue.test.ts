import { describe, expect, it } from 'vitest';
import { createKeyedQueue } from './keyed-queue.ts';

/** A promise with its resolve, to hold a task open until the test lets it finish. */
function gate() {
  let open = () => undefined as void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('keyed queue', () => {
  it('runs one task at a time per key, in arrival order, while other keys run', async () => {
    const queue = createKeyedQueue();
    const events: string[] = [];
    const first = gate();
    const a1 = queue.run('alice', async () => {
      events.push('a1 start');
      await first.opened;
      events.push('a1 end');
    });
    const a2 = queue.run('alice', async () => void events.push('a2'));
    const b1 = queue.run('bob', async () => void events.push('b1'));
    await b1;
    expect(events).toEqual(['a1 start', 'b1']);
    first.open();
    await Promise.all([a1, a2]);
    expect(events).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
  });

  it("lets other work (a request being read) run between one key's tasks", async () => {
    const queue = createKeyedQueue();
    const events: string[] = [];
    const tasks = [1, 2, 3].map((index) =>
      queue.run('alice', async () => void events.push(`a${index}`)),
    );
    setImmediate(() => events.push('other'));
    await Promise.all(tasks);
    expect(events.slice(0, events.indexOf('a3'))).toContain('other');
  });

  it('goes on with the next task after one fails, and passes the failure to its caller', async () => {
    const queue = createKeyedQueue();
    const failed = queue.run('alice', async () => {
      throw new Error('broken');
    });
    const next = queue.run('alice', async () => 'ran');
    await expect(failed).rejects.toThrow('broken');
    expect(await next).toBe('ran');
  });
});
