// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);
const temporalOutsideWorkflows = ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing', '@temporalio/envconfig'];

export default tseslint.config(
  { ignores: ['node_modules', '.cache', 'coverage', 'test-output', 'dist', 'examples', 'eslint.config.mjs', 'jest.config.js', 'bin'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The determinism boundary is the folder boundary: workflow code may import only the
    // shared contract (common/), zod, @temporalio/workflow|common, and activities' types.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'Node built-ins are not deterministic: keep them out of workflows/.' })),
            // The SDK evaluates a bundle's modules again for every workflow run: the barrel would
            // evaluate all of common/ (the cassette's schemas too) for each run (bench/RESULTS.md).
            ...['../common', '../../common', '../common/index', '../../common/index'].map((name) => ({ name, message: 'import the common/ module itself, not the barrel: each workflow run evaluates what it imports.' })),
          ],
          patterns: [
            { group: temporalOutsideWorkflows, message: 'workflows/ may import only @temporalio/workflow and @temporalio/common.' },
            { group: ['**/worker/activities', '**/worker/activities/*'], allowTypeImports: true, message: 'workflows/ may import activities only with `import type`.' },
            { group: ['**/worker', '**/worker/*', '!**/worker/activities', '!**/worker/activities/*', '**/client', '**/client/*', '**/cli', '**/cli/*', '**/testing', '**/testing/*'], message: 'workflows/ may import only common/ (the shared, deterministic contract).' },
          ],
        },
      ],
    },
  },
  {
    // Workflow code is preloaded once per worker and shared by every run it holds
    // (worker/bundle.ts): state at module level would leak from one run into the next.
    files: ['workflows/**/*.ts', 'common/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'Program > VariableDeclaration[kind!="const"], Program > ExportNamedDeclaration > VariableDeclaration[kind!="const"]', message: 'no module-level let/var: every workflow run shares this module; keep state in the run.' },
        {
          selector: 'Program > VariableDeclaration > VariableDeclarator > NewExpression[callee.name=/^(Map|Set|WeakMap|WeakSet|Array)$/], Program > ExportNamedDeclaration > VariableDeclaration > VariableDeclarator > NewExpression[callee.name=/^(Map|Set|WeakMap|WeakSet|Array)$/]',
          message: 'no module-level collection: every workflow run shares this module; keep state in the run (a constant list: a frozen array).',
        },
      ],
    },
  },
  {
    // The shared contract runs on both sides of the boundary: deterministic, and depending on
    // nothing of the project but itself.
    files: ['common/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'common/ is imported by workflows: no Node built-ins.' })),
          patterns: [
            { group: temporalOutsideWorkflows, message: 'common/ may import only @temporalio/workflow and @temporalio/common.' },
            { group: ['**/worker', '**/worker/*', '**/client', '**/client/*', '**/cli', '**/cli/*', '**/testing', '**/testing/*', '**/workflows', '**/workflows/*'], message: 'common/ depends on nothing of the project but itself.' },
          ],
        },
      ],
    },
  },
  {
    // Activities, the client, the CLI and the worker never run workflow code: types only.
    files: ['worker/**/*.ts', 'client/**/*.ts', 'cli/**/*.ts', 'testing/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/workflows', '**/workflows/*'], allowTypeImports: true, message: 'import workflow code only as types; shared definitions live in common/.' },
          ],
        },
      ],
    },
  },
);
