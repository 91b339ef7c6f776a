import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './lint/layers.js';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'native/build/**',
      'native/build-*/**',
      'build/**',
      'bench/.cache/**',
      'fixtures/models/**',
      '.cache/**',
      '.device/**',
      'native/.deps/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Imports point one way between the parts of the compiler, and no file imports itself back.
    files: ['src/**/*.ts', 'passes/**/*.ts', 'targets/**/*.ts', 'runtime/**/*.ts'],
    plugins: { fleetc: layers },
    rules: { 'fleetc/layers': 'error', 'fleetc/no-cycles': 'error' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
  },
);
