import { describeSeedRange } from './seed-range.ts';

// Seeds 1500–1999 of the 2,000 that `npm test` runs (four files, side by side).
describeSeedRange(1500);
