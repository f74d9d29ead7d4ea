/**
 * ULIDs for the relay (change ids its engine writes, user ids), their randomness drawn from a pool
 * of 4,096 bytes of Node's `crypto.randomFillSync` (the same source as `getRandomValues`),
 * refilled once used up. The library's own source asks for one byte per character (16 calls per
 * id) after looking for a source again on every call: 80–110 µs an id here against about 1 µs
 * from the pool, and 3.6–5.2 % of the relay's busy thread while it planned runs with an instant
 * model (CPU profiles, docs/benchmarks.md).
 */
import { randomFillSync } from 'node:crypto';
import { ulid } from 'ulid';

const pool = new Uint8Array(4_096);
let next = pool.length;

/** A random fraction in [0, 1), in steps of 1/256 (the library's own source gives the same). */
function pooledRandom(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]! / 256;
}

/** A new ULID: 26 Crockford base32 characters, the time now, then 80 random bits. */
export function newUlid(): string {
  return ulid(undefined, pooledRandom);
}
