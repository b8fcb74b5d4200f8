/**
 * Vitest global setup: one bundle of the current sources, in a folder of this test run's
 * own, so `npx vitest run test/x.test.ts` after an edit tests the edit, and a `prepare`
 * (`npm ci`, `npm link`) rewriting dist/ meanwhile cannot change what the tests run.
 * dist/ is copied instead of built again when it was built from the same sources.
 * test/helpers.ts runs the CLI from here (XP).
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    xpBin: string
  }
}

const ROOT = path.resolve(import.meta.dirname, '..')

export default function setup(project: TestProject) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-test-build-'))
  const out = path.join(dir, 'dist')
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--outdir', out, '--reuse', 'dist'], { cwd: ROOT, stdio: 'inherit' })
  const bin = path.join(out, 'bin.cjs')
  project.provide('xpBin', bin)
  process.env.XP_TEST_BIN = bin
  return () => fs.rmSync(dir, { recursive: true, force: true })
}
