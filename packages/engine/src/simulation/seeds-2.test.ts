import { describeSeedRange } from './seed-range.ts';

// Seeds 1000–1499 of the 2,000 that `npm test` runs (four files, side by side).
describeSeedRange(1000);
