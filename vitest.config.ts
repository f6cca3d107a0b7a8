import { defineConfig } from 'vitest/config';

// One vitest project per workspace. Packages import each other through their built
// `dist/` (npm test runs `tsc -b` first), exactly as a user's install would.
const workspaces = [
  'protocol',
  'rules',
  'telemetry',
  'kernel',
  'broker',
  'device-registry',
  'ota',
  'dashboard',
  'edge-agent',
  'alerts',
  'platform',
  'test',
  'bench',
];

export default defineConfig({
  test: {
    passWithNoTests: true,
    projects: workspaces.map((name) => ({
      test: {
        name,
        root: `./${name}`,
        include: ['test/**/*.test.ts'],
        exclude: ['dist/**', 'node_modules/**'],
        testTimeout: 30_000,
        hookTimeout: 60_000,
      },
    })),
  },
});
