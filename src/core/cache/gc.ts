/**
 * `xp gc [--dry-run]`: delete cache objects that nothing references: not a run ref, a
 * registry tag, any branch or tag tip (every ref, in fact), nor a pointer file in any
 * working tree of the repository.
 */
import fs from 'node:fs'
import type { Repo } from '../repo.js'
import { git } from '../git.js'
import { cleanTemp, listObjects } from './objects.js'
import path from 'node:path'
import { referencedOids, worktreeRoots } from './reachable.js'
import { StatCache } from './state.js'

export interface GcResult {
  removed: number
  bytes: number
  kept: number
  /** unreferenced but younger than the grace period: possibly a concurrent add's */
  recent: number
  dry_run: boolean
}

/** Unreferenced objects younger than this are kept: an `xp add` or `xp run` may be about to point at them. */
export const DEFAULT_GRACE_S = 3600

/** Every commit a ref points at (tags peeled), plus HEAD. */
export async function refTips(repo: Pick<Repo, 'root' | 'ctx'>): Promise<string[]> {
  const { stdout } = await git(['for-each-ref', '--format=%(objecttype) %(objectname) %(*objecttype) %(*objectname)'], { cwd: repo.root, env: repo.ctx.env })
  const tips = new Set<string>()
  for (const line of stdout.split('\n')) {
    const [type, oid, ptype, poid] = line.split(' ')
    if (type === 'commit') tips.add(oid)
    else if (ptype === 'commit') tips.add(poid)
  }
  const head = await git(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (head.code === 0) tips.add(head.stdout.trim())
  return [...tips]
}

export async function gcCache(repo: Repo, opts: { dryRun?: boolean; graceS?: number } = {}): Promise<GcResult> {
  cleanTemp(repo.cacheDir, undefined, { all: true })
  // the cut-off is taken before the references are read: an object written after it is spared
  const cutoff = repo.ctx.now().getTime() - (opts.graceS ?? DEFAULT_GRACE_S) * 1000
  const keep = await referencedOids(repo, { commits: await refTips(repo), worktree: true })
  let kept = 0
  let recent = 0
  let bytes = 0
  const gone = new Set<string>()
  for (const o of listObjects(repo.cacheDir)) {
    if (keep.has(o.oid)) {
      kept++
      continue
    }
    if (o.mtimeMs > cutoff) {
      recent++
      continue
    }
    if (!opts.dryRun) fs.rmSync(o.file, { force: true })
    gone.add(o.oid)
    bytes += o.size
  }
  // stat caches vouch for stored objects: forget the deleted ones so `xp add` stores them again
  if (gone.size && !opts.dryRun) {
    for (const root of await worktreeRoots(repo)) {
      const state = StatCache.load(path.join(root, '.xp'))
      state.dropOids(gone)
      state.save()
    }
  }
  const removed = gone.size
  return { removed, bytes, kept, recent, dry_run: Boolean(opts.dryRun) }
}
