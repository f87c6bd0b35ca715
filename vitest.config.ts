import { defineConfig } from 'vitest/config'

// Each test file runs in its own process: libchdb binds one data directory per process, and each
// file that stores owns one (under .tmp/, removed by the file itself).
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
})
