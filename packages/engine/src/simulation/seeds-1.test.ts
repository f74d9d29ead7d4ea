import { describeSeedRange } from './seed-range.ts';

// Seeds 500–999 of the 2,000 that `npm test` runs (four files, side by side).
describeSeedRange(500);
