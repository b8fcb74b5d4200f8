/**
 * Data in a task's worktree. Tracked data is in git only as pointer files (`<path>.xp`,
 * docs/architecture.md#cache); its bytes are in the cache that every worktree of the repository shares.
 * Before a task runs, each pointer's data is materialized by the data layer as a reflink
 * or, where the file system has none, a copy: never a hard link or symlink, because a
 * command may write into its data (`echo x >> data/train.csv`), and through a link that
 * would change the cache object every other task and run shares (0444 does not stop root).
 */
import type { Repo } from '../repo.js'
import { git } from '../git.js'
import { XpError } from '../errors.js'
import { readPointer, POINTER_SUFFIX } from '../cache/pointer.js'
import { materialize } from '../cache/materialize.js'

/**
 * Materialize the data that the worktree's pointer files name; returns the paths placed.
 * Missing objects are reported through `warn` and skipped: the command fails on its own
 * if it needs them, and the run records that.
 */
export async function materializeData(wt: Pick<Repo, 'root' | 'ctx' | 'cacheDir' | 'xpDir'>): Promise<string[]> {
  // pointers the user had not committed are untracked in the task's index, as in theirs
  const { stdout } = await git(['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', `*${POINTER_SUFFIX}`], { cwd: wt.root, env: wt.ctx.env })
  const placed: string[] = []
  for (const rel of stdout.split('\0')) {
    if (!rel) continue
    try {
      const p = readPointer(wt.root, rel)
      await materialize(wt, p, p.dataPath, { link: 'reflink,copy' })
      placed.push(p.dataPath)
    } catch (e) {
      if (!(e instanceof XpError)) throw e
      wt.ctx.warn(`${rel}: ${e.message}; the task runs without it${e.code === 'XP_CACHE_MISSING' ? ' (xp pull fetches it)' : ''}`)
    }
  }
  return placed
}
