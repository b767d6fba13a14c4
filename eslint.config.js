// Lint rules that back the style guide: no `any`, no non-null assertions, no floating promises,
// and the layering of docs/architecture.md: a module talks to another through its service or the command
// registry, never through its store or routes; the command line never imports routes.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const LAYERING = "modules talk through services or the command registry, never another module's store or routes (docs/architecture.md)";

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'tmp/**', 'test-output/**', 'web/src/api/schema.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      // Fastify plugins are async functions by contract, with or without an await inside.
      '@typescript-eslint/require-await': 'off',
      // node:test's describe/test return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite'] }] },
      ],
    },
  },
  {
    files: ['src/*/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../*/store.js', '../*/routes.js'], message: LAYERING }] }] },
  },
  {
    // server.ts assembles the routes; every other top-level file (main.ts, the CLI) stays off them.
    files: ['src/*.ts'],
    ignores: ['src/server.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['./*/store.js', './*/routes.js'], message: LAYERING }] }] },
  },
  {
    files: ['src/server.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['./*/store.js'], message: LAYERING }] }] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
);
