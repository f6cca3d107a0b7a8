import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// The house as lint (ADR 0007): dependencies point down. kernel holds the contracts parts build
// on; platform/ is the only composition root; no part imports another; the agent stays small.
const PARTS = ['@outpost/broker', '@outpost/alerts', '@outpost/device-registry', '@outpost/dashboard', '@outpost/ota'];
const partsAndRoot = (why) => [
  { group: ['@outpost/platform', '@outpost/platform/*'], message: `${why} never import the composition root (@outpost/platform); take contracts from @outpost/kernel (ADR 0007).` },
  { group: PARTS.flatMap((name) => [name, `${name}/*`]), message: `${why} never import a part: take its port from @outpost/kernel and let the platform wire it (ADR 0007).` },
];
const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

const boundaries = [
  {
    // A part depends on kernel, protocol and its libraries: never the root, never another part.
    files: ['broker/src/**', 'alerts/src/**', 'device-registry/src/**', 'dashboard/src/**', 'ota/src/**'],
    rules: restrict(partsAndRoot('Parts')),
  },
  {
    // A part's suites reach the in-process platform through the test harness (@outpost/e2e).
    files: ['broker/test/**', 'alerts/test/**', 'device-registry/test/**', 'dashboard/test/**', 'ota/test/**'],
    rules: restrict([
      { group: ['@outpost/platform', '@outpost/platform/*'], message: 'Part tests reach the platform through the harness (@outpost/e2e), so no part depends on the root (ADR 0007).' },
    ]),
  },
  {
    // Contracts and libraries sit below every part.
    files: ['kernel/**', 'protocol/**', 'rules/**', 'telemetry/**'],
    rules: restrict(partsAndRoot('Contracts and libraries')),
  },
  {
    // The edge agent runs on small devices: protocol, rules and its own few libraries only (STYLE 15).
    files: ['edge-agent/src/**'],
    rules: restrict([
      {
        regex: '^(?!node:|\\.\\.?/|(@outpost/protocol|@outpost/rules|mqtt|pino|rxjs|node-forge)$)',
        message: 'The edge agent imports only protocol, rules, mqtt, pino, rxjs, node-forge and node:* (STYLE 15, ADR 0007).',
      },
    ]),
  },
  {
    // Domain folders import no ports (issue 12): plain values from @outpost/kernel/domain,
    // never kernel's port types nor a part's own ports/ folder. (Repeats the rules above: a
    // later no-restricted-imports replaces an earlier one for the same files.)
    files: ['broker/src/domain/**', 'alerts/src/domain/**', 'device-registry/src/domain/**', 'dashboard/src/domain/**', 'ota/src/domain/**', 'rules/src/domain/**', 'kernel/src/domain/**'],
    rules: restrict([
      ...partsAndRoot('Domain folders'),
      { regex: '^@outpost/kernel$', message: 'Domain folders import no ports: take value types from @outpost/kernel/domain (issue 12).' },
      { regex: '(^|/)ports(/|$)', message: 'Domain folders import no ports: keep the port use in a service, pass values in (issue 12).' },
    ]),
  },
  {
    // The agent's bundle builder (@outpost/edge-agent/bundle) runs on the server, beside the
    // install files it ships: Node built-ins and protocol only, never the agent's runtime.
    files: ['edge-agent/bundle/**'],
    rules: restrict([
      { regex: '^(?!node:|\\.\\.?/|@outpost/protocol$)', message: 'The bundle builder imports only node:* and @outpost/protocol (ADR 0007).' },
    ]),
  },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'dashboard/public/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // CLIs print to the terminal on purpose; tests and benches may too.
    files: ['**/src/cli/**', '**/test/**', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // No floating promises (STYLE 12), type-aware: every TypeScript file under src/ and test/
    // belongs to a project (the parts' tests to <part>/test/tsconfig.json).
    files: ['**/src/**/*.ts', '**/test/**/*.ts', 'edge-agent/bundle/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error' },
  },
  ...boundaries,
  {
    // The dashboard's web app (issue 14) runs in the browser: browser globals, type-aware, and it
    // imports only its UI libraries, protocol types and its own files — never a server package.
    files: ['dashboard/web/**/*.ts', 'dashboard/web/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser }, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // The typed rule, for allowTypeImports: the parts' answer types are erased from the bundle.
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          {
            regex: '^(?!\\.\\.?/|(preact|preact/hooks|@preact/signals|uplot|uplot/dist/uPlot\\.min\\.css|vite|node:url|@outpost/protocol|@outpost/(alerts|dashboard|device-registry|ota))$)',
            message: 'The web app imports preact, @preact/signals, uplot, protocol types and its own files only (issue 14): no server package.',
          },
          {
            regex: '^@outpost/(alerts|dashboard|device-registry|ota)$',
            allowTypeImports: true,
            message: "The web app takes the parts' answer types only (`import type`), never their code.",
          },
        ],
      }],
    },
  },
  {
    // The launcher runs the agent with --lite-mode --no-expose-wasm: no WebAssembly, so undici's
    // fetch() would fail on the device. The agent speaks HTTPS through node:https.
    files: ['edge-agent/src/**'],
    rules: {
      'no-restricted-globals': ['error', { name: 'fetch', message: 'The agent runs without WebAssembly (launcher flags), where fetch() fails: use node:https.' }],
    },
  },
);
