// Lint: typescript-eslint's recommended rules without type information (fast), plus the
// dependency direction of STYLE rule 7 — the engine imports zod and small pure libraries only;
// webapp and relay import the engine; nothing imports e2e.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const alternatives = (names) => names.map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
const onlyModules = (names) => `^(${alternatives(names).join('|')})(/.*)?$`;

// Imports of e2e from anywhere: the package name, or a relative path into the e2e folder.
const noE2e = { regex: '^@baton/e2e(/.*)?$|(^|/)e2e(/|$)', message: 'Nothing imports e2e.' };

// Globs below name folders; this keeps them to code files (ESLint would otherwise try JSON, shell).
const code = (folder) => `${folder}/**/*.{js,mjs,cjs,ts,mts,cts}`;

const restrictImports = (...patterns) => ({
  'no-restricted-imports': ['error', { patterns }],
});

export default defineConfig(
  {
    ignores: [
      '**/node_modules/',
      '**/build/',
      '**/dist/',
      '**/.svelte-kit/',
      '**/*.svelte',
      '**/test-results/',
      '**/playwright-report/',
      '.tmp/',
      'data/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a parameter a signature needs but the body does not use.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: [code('packages/engine/src')],
    rules: restrictImports(
      {
        regex: onlyModules([
          'dexie',
          'hono',
          'comlink',
          'openai',
          '@electric-sql/pglite',
          'postgres',
          '@baton/relay',
          '@baton/webapp',
        ]),
        message: 'The engine does no I/O: reach storage, network and models through src/ports.ts.',
      },
      {
        regex: `^node:|${onlyModules(builtinModules)}`,
        message: 'The engine runs in browsers too: no Node built-ins.',
      },
      noE2e,
    ),
  },
  {
    // STYLE rule 1: time, identity and the environment are parameters of the engine.
    files: [code('packages/engine/src')],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...[
          'fetch',
          'indexedDB',
          'localStorage',
          'setTimeout',
          'setInterval',
          'process',
          'crypto',
        ].map((name) => ({
          name,
          message: 'The engine does no I/O: take it from a port (src/ports.ts).',
        })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use the Clock port.' },
        { object: 'Math', property: 'random', message: 'Use the Ids port.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Use the Clock port.',
        },
      ],
    },
  },
  {
    // The model adapter (@baton/engine/openai) does I/O through the `openai` SDK, and runs in the
    // browser's worker as well as the relay: no Node built-ins, no host code.
    files: [code('packages/engine/openai')],
    ignores: ['**/*.test.ts'],
    rules: restrictImports(
      {
        regex: onlyModules(['dexie', 'hono', '@baton/relay', '@baton/webapp']),
        message: 'The model adapter is shared by the hosts; it imports neither of them.',
      },
      {
        regex: `^node:|${onlyModules(builtinModules)}`,
        message: 'The model adapter runs in browsers too: no Node built-ins.',
      },
      noE2e,
    ),
  },
  {
    files: [code('packages/relay')],
    rules: restrictImports(noE2e, {
      regex: onlyModules(['@baton/webapp']),
      message: 'The relay serves the built webapp; it does not import it.',
    }),
  },
  {
    files: [code('apps/webapp')],
    rules: restrictImports(noE2e, {
      regex: onlyModules(['@baton/relay']),
      message: 'The webapp talks to the relay over HTTP; it does not import it.',
    }),
  },
  {
    // Only e2e itself may import e2e files (its fixtures, through relative paths inside it).
    files: [code('**')],
    ignores: ['e2e/**', 'packages/engine/src/**', 'packages/relay/**', 'apps/webapp/**'],
    rules: restrictImports(noE2e),
  },
);
