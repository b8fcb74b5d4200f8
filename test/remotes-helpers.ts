// Helpers shared by the remotes test files: clones, checked CLI calls, a project whose
// tracked data is committed and pushed to a git remote with a data remote set.
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TestRepo, type Result } from './helpers.js'

export function ok(r: Result): Result {
  if (r.code !== 0) throw new Error(`xp exited ${r.code}: ${r.stderr}`)
  return r
}

/** `xp run --json ...`: the flag must come before the command */
export function runJson(r: TestRepo, args: string[]) {
  return JSON.parse(ok(r.xp(['run', '--json', ...args])).stdout)
}

/** A clone of url in a fresh TestRepo, with extra environment. */
export function cloneOf(url: string, env: Record<string, string> = {}): TestRepo {
  const c = new TestRepo({ init: false })
  c.env = { ...c.env, ...env }
  fs.rmSync(c.dir, { recursive: true })
  const r = spawnSync('git', ['clone', '-q', url, c.dir], { cwd: path.dirname(c.dir), env: c.env, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`git clone failed: ${r.stderr}`)
  return c
}

/**
 * Give a project an origin and a default data remote, track `files` with `xp add`, commit
 * the pointers and push the branch.
 */
export function withTrackedData(a: TestRepo, opts: { origin: string; remoteArgs: string[]; files: Record<string, string | Buffer>; add: string[] }): void {
  a.git('remote', 'add', 'origin', opts.origin)
  ok(a.xp(['remote', 'add', ...opts.remoteArgs, '--default', '--create']))
  for (const [f, c] of Object.entries(opts.files)) a.write(f, c)
  ok(a.xp(['add', ...opts.add]))
  a.git('add', '-A')
  a.git('commit', '-qm', 'track data')
  a.git('push', '-q', 'origin', 'main')
}

/** The oid a pointer file names. */
export function pointerOid(a: TestRepo, pointer: string): string {
  return /oid: (\S+)/.exec(a.read(pointer))![1]
}
