/**
 * The data of a run: the pointer files in its commit's tree (outs, untracked deps, large
 * files), validated like any pointer, and written into the working tree by `xp apply`.
 */
import path from 'node:path'
import type { Repo } from '../repo.js'
import { git, CatFileBatch } from '../git.js'
import { decodePointer, locate, POINTER_SUFFIX, type LocatedPointer } from './pointer.js'
import { materialize, type MaterializeOptions } from './materialize.js'
import { StatCache } from './state.js'
import { ignoreInGit } from './add.js'

/** Pointer files in a commit's tree, every one validated before any is used. */
export async function commitPointers(repo: Pick<Repo, 'root' | 'ctx'>, commit: string): Promise<LocatedPointer[]> {
  const { stdout } = await git(['ls-tree', '-r', '-z', commit], { cwd: repo.root, env: repo.ctx.env })
  const blobs: Array<{ file: string; oid: string }> = []
  for (const line of stdout.split('\0')) {
    const tab = line.indexOf('\t')
    if (tab < 0) continue
    const [mode, type, oid] = line.slice(0, tab).split(' ')
    const file = line.slice(tab + 1)
    if (type === 'blob' && mode !== '120000' && file.endsWith(POINTER_SUFFIX) && path.posix.basename(file) !== POINTER_SUFFIX && !file.startsWith('.xp-run/'))
      blobs.push({ file, oid })
  }
  if (!blobs.length) return []
  const batch = new CatFileBatch({ cwd: repo.root, env: repo.ctx.env })
  const out: LocatedPointer[] = []
  try {
    for (const b of blobs) {
      const obj = await batch.read(b.oid)
      if (obj) out.push(locate(repo.root, b.file, decodePointer(obj.content.toString('utf8'), `${commit.slice(0, 12)}:${b.file}`)))
    }
  } finally {
    batch.close()
  }
  return out
}

/**
 * Write a commit's data into the working tree. With `dryRun`, only check that every object
 * is there and nothing uncached would be overwritten (call it before changing anything).
 */
export async function materializePointers(
  repo: Repo,
  pointers: LocatedPointer[],
  opts: Pick<MaterializeOptions, 'force' | 'dryRun' | 'fetchMissing'> = {},
): Promise<string[]> {
  const state = StatCache.load(repo.xpDir)
  for (const p of pointers) {
    await materialize(repo, p, p.dataPath, { ...opts, state })
    if (!opts.dryRun) {
      const ignored = await git(['check-ignore', '-q', '--', p.dataPath], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
      if (ignored.code !== 0) ignoreInGit(repo.root, p.dataPath)
    }
  }
  return pointers.map((p) => p.dataPath)
}
