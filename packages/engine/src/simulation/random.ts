import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** The simulator's only source of chance: every draw comes from one seed. */
export interface Random {
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** An independent stream for one purpose, so draws for one thing do not shift another's. */
  fork(): Random;
}

/** Mixes a seed's bits (murmur3's finaliser): neighbouring seeds start far apart. */
function mix(seed: number): number {
  let hash = seed | 0;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85eb_ca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2_ae35);
  return (hash ^ (hash >>> 16)) | 0;
}

export function createRandom(seed: number): Random {
  const generator = xoroshiro128plus(mix(seed));
  const random: Random = {
    int: (min, max) => uniformInt(generator, min, max),
    chance: (p) => p > 0 && uniformInt(generator, 0, 999_999) < p * 1_000_000,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[uniformInt(generator, 0, items.length - 1)]!;
    },
    fork: () => createRandom(uniformInt(generator, -0x8000_0000, 0x7fff_ffff)),
  };
  return random;
}
