import { describe, expect, it } from 'vitest';
import { newUlid } from './ids.ts';

describe('newUlid', () => {
  it('makes distinct ULIDs of the time now, past many refills of its random pool', () => {
    const before = Date.now();
    // 4,096 bytes make 256 ids (16 random characters each): 10,000 ids refill it 39 times.
    const ids = Array.from({ length: 10_000 }, () => newUlid());
    const after = Date.now();
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const decodeTime = (id: string) =>
      [...id.slice(0, 10)].reduce(
        (value, char) => value * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(char),
        0,
      );
    expect(decodeTime(ids[0]!)).toBeGreaterThanOrEqual(before);
    expect(decodeTime(ids.at(-1)!)).toBeLessThanOrEqual(after);
  });

  it('spreads its random characters over the whole alphabet', () => {
    const counts = new Map<string, number>();
    for (let index = 0; index < 2_000; index += 1)
      for (const char of newUlid().slice(10)) counts.set(char, (counts.get(char) ?? 0) + 1);
    // 32,000 characters over 32 letters: 1,000 each on average; a stuck or biased source is far off.
    expect(counts.size).toBe(32);
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
  });
});
