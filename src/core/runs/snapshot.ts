/**
 * Snapshot the working tree as a git tree without touching the user's index: a temporary
 * index seeded from theirs (docs/architecture.md#decisions-and-their-measurements), the changed paths and the extra blobs (the output
 * log, pointer files) staged into it by one `update-index`, then `write-tree`.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { gitWith } from '../git.js'
import { writeBlobs } from './git-objects.js'
import { guardRead, leftOutOfSnapshot } from '../safety/paths.js'

export interface ExtraFile {
  /** path in the tree, `/`-separated */
  path: string
  content: string | Buffer
}

export interface SnapshotOptions {
  /** unique per snapshot; names the temporary index */
  key: string
  /** untracked files larger than this are left out (or replaced by `replaceLarge`) */
  maxFileSize: number
  /** files to include even if ignored (params, metrics, series) */
  force?: string[]
  /** paths to leave out of the tree whatever their state (data tracked by pointers) */
  exclude?: string[]
  /** blobs to place in the tree (log, pointer files) */
  extra?: ExtraFile[]
  /** untracked files over maxFileSize, when the caller listed them already */
  large?: Array<{ path: string; size: number }>
  /** `snapshot.include` / `snapshot.exclude` of xp.yaml: globs over untracked files (secrets are left out by default) */
  include?: string[]
  excludeGlobs?: string[]
}

export interface Snapshot {
  tree: string
  /** untracked files over the size limit that were left out */
  large: Array<{ path: string; size: number }>
  /** untracked files left out because they look like secrets or match snapshot.exclude */
  leftOut: string[]
}

const literal = (p: string) => `:(literal)${p}`

/**
 * What `git add -A` would stage, from one `git ls-files`: tracked files modified or deleted,
 * untracked files that are not ignored (docs/architecture.md#decisions-and-their-measurements). `others` over `max` bytes are `large`.
 */
export interface WorktreeChanges {
  /** tracked paths whose file changed or is gone, and untracked non-ignored paths */
  paths: string[]
  /** untracked files over the size limit */
  large: Array<{ path: string; size: number }>
  /** tracked files that are now folders: their entries go, the files inside come in */
  replaced: string[]
  /** every untracked, non-ignored path (large ones too) */
  others: string[]
}

/**
 * One `ls-files -m -d -o` against `index` (default the user's; it is only read). Untracked
 * files over `max` bytes are listed apart, with their size.
 *
 * @example
 * const { paths, large } = await worktreeChanges(repo, 10e6)
 */
export async function worktreeChanges(
  repo: Pick<Repo, 'root' | 'ctx' | 'gitDir'>,
  max: number,
  index = path.join(repo.gitDir, 'index'),
): Promise<WorktreeChanges> {
  const { stdout } = await gitWith({ GIT_INDEX_FILE: index }, ['ls-files', '-z', '-t', '-m', '-d', '-o', '--exclude-standard'], {
    cwd: repo.root,
    env: repo.ctx.env,
  })
  const paths = new Set<string>()
  const large: Array<{ path: string; size: number }> = []
  const replaced = new Set<string>()
  const others: string[] = []
  for (const item of stdout.split('\0')) {
    if (item.length < 3) continue
    // an untracked repository inside is listed as `sub/`; `update-index --add sub` makes it a gitlink, as `git add` does
    const rel = item.slice(2).replace(/\/$/, '')
    if (item[0] === '?') {
      others.push(rel)
      try {
        const st = fs.lstatSync(path.join(repo.root, rel))
        if (st.isFile() && st.size > max) {
          large.push({ path: rel, size: st.size })
          continue
        }
      } catch {
        // vanished since listing: nothing to add
        continue
      }
    } else if (isDir(path.join(repo.root, rel)) && !fs.existsSync(path.join(repo.root, rel, '.git'))) {
      replaced.add(rel)
      continue
    }
    paths.add(rel)
  }
  return { paths: [...paths], large, replaced: [...replaced], others }
}

/** Untracked, non-ignored files over `max` bytes, found with one `ls-files`. */
export async function largeUntracked(repo: Pick<Repo, 'root' | 'ctx' | 'gitDir'>, max: number, index: string): Promise<Array<{ path: string; size: number }>> {
  return (await worktreeChanges(repo, max, index)).large
}

/**
 * The tree of the working tree: the user's index copied to a temporary one, then one
 * `update-index` that stages the changed paths (`--remove` for the deleted) and places the
 * extra blobs (written in-process: no `hash-object`), then `write-tree`. Three git processes
 * with `changes` given, where `git add -A` + `hash-object` + `update-index` + `write-tree`
 * took five. `update-index` re-reads a file only when its stat differs from the index entry.
 */
export async function snapshotTree(
  repo: Pick<Repo, 'root' | 'ctx' | 'gitDir' | 'xpDir' | 'commonDir'>,
  opts: SnapshotOptions & { changes?: WorktreeChanges },
): Promise<Snapshot> {
  const tmpDir = path.join(repo.xpDir, 'tmp')
  fs.mkdirSync(tmpDir, { recursive: true })
  const index = path.join(tmpDir, `index-${opts.key}`)
  const realIndex = path.join(repo.gitDir, 'index')
  const run = (args: string[], input?: string) => gitWith({ GIT_INDEX_FILE: index }, args, { cwd: repo.root, env: repo.ctx.env, input })
  try {
    try {
      fs.copyFileSync(realIndex, index)
      // keep the index's mtime: git re-reads "racily clean" entries (files changed within
      // the index's own second) only when the index file is not newer than them
      const st = fs.statSync(realIndex)
      fs.utimesSync(index, st.atime, st.mtime)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    }
    const changes = opts.changes ?? (await worktreeChanges(repo, opts.maxFileSize, index))
    const large = opts.large ?? changes.large
    // untracked files that look like secrets stay out unless snapshot.include names them (core/safety)
    const forced = new Set(opts.force ?? [])
    const leftOut = leftOutOfSnapshot(
      changes.others.filter((p) => !forced.has(p)),
      { include: opts.include, exclude: opts.excludeGlobs },
    )
    const skip = [...large.map((l) => l.path), ...(opts.exclude ?? []), ...leftOut]
    const skipped = (p: string) => skip.some((x) => p === x || p.startsWith(x + '/'))
    if (opts.exclude?.length) {
      // tracked files that are now data behind pointers leave the tree
      await run(['rm', '-r', '--cached', '-q', '--ignore-unmatch', '--pathspec-from-file=-', '--pathspec-file-nul'], opts.exclude.map(literal).join('\0'))
    }
    // files to include even if ignored (params, metrics, series) are staged like the rest
    const force = (opts.force ?? []).filter((f) => {
      if (skip.includes(f)) return false
      try {
        guardRead(repo.root, f) // never the bytes of a file outside the repository (a symlinked folder)
      } catch {
        return false
      }
      return isFile(path.join(repo.root, f))
    })
    const paths = [...new Set([...changes.paths.filter((p) => !skipped(p)), ...force])]
    const blobs = await writeBlobs(
      repo,
      (opts.extra ?? []).map((x) => x.content),
    )
    const cacheinfo = (opts.extra ?? []).flatMap((x, i) => ['--cacheinfo', `100644,${blobs[i]},${x.path}`])
    const replaced = changes.replaced.filter((p) => !skipped(p))
    const gone = replaced.length ? ['--force-remove', ...replaced, '--no-force-remove'] : []
    if (paths.length || cacheinfo.length || gone.length)
      await run(['update-index', '--add', '--remove', '--replace', ...cacheinfo, ...gone, '-z', '--stdin'], paths.map((p) => p + '\0').join(''))
    const { stdout } = await run(['write-tree'])
    return { tree: stdout.trim(), large, leftOut }
  } finally {
    fs.rmSync(index, { force: true })
    fs.rmSync(index + '.lock', { force: true })
  }
}

function isDir(p: string): boolean {
  try {
    return fs.lstatSync(p).isDirectory()
  } catch {
    return false
  }
}

function isFile(p: string): boolean {
  try {
    return fs.lstatSync(p).isFile()
  } catch {
    return false
  }
}
