import js from '@eslint/js';
import nextPlugin from '@next/eslint-plugin-next';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const ZUSTAND = { name: 'zustand', message: 'Import stores from @/stores instead.' };
const SOCKET_CLIENT = {
  name: 'socket.io-client',
  message: 'Only the client layer (components/live) talks to the gateway socket: use LiveClient.',
};
const LIB_MESSAGE =
  'lib/ runs in the gateway, the consumers and the browser alike: no Node modules or DOM here.';
const NODE_BUILTINS = [
  'fs',
  'fs/promises',
  'path',
  'os',
  'crypto',
  'child_process',
  'http',
  'https',
  'net',
  'worker_threads',
  'stream',
  'events',
  'url',
  'util',
  'zlib',
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.next/**',
      '.next-e2e/**',
      '.e2e-data/**',
      'captures/**',
      'next-env.d.ts',
      'public/**',
      'test-results/**',
      'playwright-report/**',
      'consumers/python/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { '@next/next': nextPlugin, 'react-hooks': reactHooks },
    rules: {
      ...nextPlugin.configs.recommended.rules,
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      // One wrapper module per state library (CONVENTIONS.md): components reach zustand through stores/.
      'no-restricted-imports': ['error', { paths: [ZUSTAND] }],
    },
  },
  // The browser's layers (issue 16): only the client layer, components/live, holds the socket;
  // stores, components and pages use it through LiveClient. Stores are zustand's one wrapper.
  {
    files: ['stores/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [SOCKET_CLIENT],
          patterns: [
            {
              group: ['@/components/*', '../components/*'],
              message:
                'Stores hold state; the client layer and components use them, not the reverse.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['app/**', 'components/**'],
    ignores: ['components/live/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [ZUSTAND, SOCKET_CLIENT] }] },
  },
  // lib/ is shared by the gateway, the consumers and the browser: no Node modules, no DOM, no
  // socket (tests run in Node and may use both).
  {
    files: ['lib/**'],
    ignores: ['lib/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ZUSTAND,
            SOCKET_CLIENT,
            ...NODE_BUILTINS.map((name) => ({ name, message: LIB_MESSAGE })),
          ],
          patterns: [{ group: ['node:*'], message: LIB_MESSAGE }],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['window', 'document', 'localStorage', 'sessionStorage', 'navigator', 'process'].map(
          (name) => ({ name, message: LIB_MESSAGE }),
        ),
      ],
    },
  },
  { files: ['*.js', '*.mjs'], languageOptions: { globals: { process: 'readonly' } } },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
  },
);
