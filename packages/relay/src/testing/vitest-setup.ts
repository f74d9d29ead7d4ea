/** Runs in every relay test file: closes the PGlite instances kept for reuse after the file. */
import { afterAll } from 'vitest';
import { closeTestDatabases } from './test-database.ts';

afterAll(() => closeTestDatabases());
