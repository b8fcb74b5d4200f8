import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // builds the CLI once per run into a folder of its own (test/helpers.ts runs it from there)
    globalSetup: ['test/global-setup.ts'],
    // integration tests spawn git and the built CLI; two cores, so keep parallelism modest
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
})
