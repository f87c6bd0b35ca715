import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vitest/config'

// Each test file runs in its own process: libchdb binds one data directory per process, and each
// file that stores owns one (under .tmp/, removed by the file itself).
export default defineConfig({
  // The client's runes modules (*.svelte.ts) compile as the page's build compiles them.
  plugins: [svelte({ configFile: false })],
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
})
