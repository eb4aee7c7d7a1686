// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['node_modules', '.cache', 'coverage', 'test-output', 'dist', 'eslint.config.mjs', 'jest.config.js', 'bin'] },
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
    // The determinism boundary is the folder boundary: workflow code may import only
    // deterministic modules (src/domain, zod, @temporalio/workflow|common) and types.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Node built-ins are not deterministic: keep them out of workflows/.' })),
          patterns: [
            {
              group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing', '@temporalio/envconfig'],
              message: 'workflows/ may import only @temporalio/workflow and @temporalio/common.',
            },
            {
              group: ['../activities', '../activities/*'],
              allowTypeImports: true,
              message: 'workflows/ may import activities only with `import type`.',
            },
            {
              group: ['../src/*', '!../src/domain', '!../src/domain/*'],
              allowTypeImports: true,
              message: 'workflows/ may import only src/domain (deterministic code).',
            },
          ],
        },
      ],
    },
  },
);
