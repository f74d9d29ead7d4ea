import type { Clock, Ids } from '../ports.ts';

export interface FixedClock extends Clock {
  set(nowMs: number): void;
  advance(ms: number): void;
}

/** A clock that moves only when told to. */
export function createFixedClock(startMs: number): FixedClock {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    set: (value) => {
      nowMs = value;
    },
    advance: (ms) => {
      nowMs += ms;
    },
  };
}

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Sequential, valid ULIDs: `prefix` (a Crockford base32 letter) then a counter. */
export function createSequentialIds(prefix = 'A'): Ids {
  let counter = 0;
  return {
    ulid() {
      counter += 1;
      let digits = '';
      let rest = counter;
      for (let index = 0; index < 16; index += 1) {
        digits = crockford[rest % 32] + digits;
        rest = Math.floor(rest / 32);
      }
      return `0000000${prefix.slice(0, 3).padEnd(3, '0')}${digits}`;
    },
  };
}
