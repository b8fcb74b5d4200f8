/**
 * Data in a task's worktree. Tracked data is in git only as pointer files (`<path>.xp`,
 * DESIGN 2.3); its bytes are in the cache that every worktree of the repository shares.
 * Before a task runs, each pointer's object is linked into the worktree (hard link, else
 * a copy), so a sweep over a large data set costs no copies. Until anything is cached
 * (no `.xp/cache`) this does nothing.
 *
 * This is the queue's hook into the data layer: when that layer offers a checkout
 * function, call it here instead.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { git } from '../git.js'
import { parseStructured } from '../params.js'
import { isInside } from '../fsutil.js'

const OID = /^[0-9a-f]{32}(\.dir)?$/

function objectPath(cacheDir: string, oid: string): string {
  const hex = oid.replace(/\.dir$/, '')
  return path.join(cacheDir, hex.slice(0, 2), hex.slice(2))
}

function linkOrCopy(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true })
  try {
    fs.linkSync(from, to)
  } catch {
    fs.copyFileSync(from, to)
  }
}

/**
 * Link the cached data that the worktree's pointer files name; returns the paths placed.
 * Missing objects are reported through `warn` and skipped: the command fails on its own
 * if it needs them, and the run records that.
 */
export async function materializeData(wt: Pick<Repo, 'root' | 'ctx' | 'cacheDir'>): Promise<string[]> {
  if (!fs.existsSync(wt.cacheDir)) return []
  const { stdout } = await git(['ls-files', '-z', '--', '*.xp'], { cwd: wt.root, env: wt.ctx.env })
  const placed: string[] = []
  for (const rel of stdout.split('\0')) {
    if (!rel) continue
    let ptr: { path?: unknown; oid?: unknown }
    try {
      ptr = parseStructured(fs.readFileSync(path.join(wt.root, rel), 'utf8'), rel) as typeof ptr
    } catch {
      continue
    }
    if (!ptr || typeof ptr.path !== 'string' || typeof ptr.oid !== 'string' || !OID.test(ptr.oid)) continue
    const dest = path.resolve(wt.root, path.dirname(rel), ptr.path)
    if (!isInside(wt.root, dest) || fs.existsSync(dest)) continue
    const obj = objectPath(wt.cacheDir, ptr.oid)
    if (!fs.existsSync(obj)) {
      wt.ctx.warn(`${rel}: ${ptr.oid} is not in the cache; the task runs without it (xp pull fetches it)`)
      continue
    }
    if (!ptr.oid.endsWith('.dir')) {
      linkOrCopy(obj, dest)
      placed.push(path.relative(wt.root, dest))
      continue
    }
    const entries = JSON.parse(fs.readFileSync(obj, 'utf8')) as Array<{ path: string; oid: string }>
    for (const e of entries) {
      const to = path.resolve(dest, e.path)
      // manifests are checked on read (DESIGN 2.3): nothing may land outside the folder
      if (!isInside(dest, to) || !OID.test(e.oid)) continue
      const from = objectPath(wt.cacheDir, e.oid)
      if (fs.existsSync(from)) linkOrCopy(from, to)
      else wt.ctx.warn(`${rel}: ${e.path} (${e.oid}) is not in the cache`)
    }
    placed.push(path.relative(wt.root, dest))
  }
  return placed
}
