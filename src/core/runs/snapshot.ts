/**
 * Snapshot the working tree as a git tree without touching the user's index: a temporary
 * index seeded from theirs (DESIGN 5), `git add` into it, extra blobs (the output log,
 * pointer files) added by `update-index`, then `write-tree`.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { gitWith, git } from '../git.js'
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
const excluded = (p: string) => `:(exclude,literal)${p}`

/** Untracked, non-ignored files over `max` bytes, found with one `ls-files`. */
export async function largeUntracked(repo: Pick<Repo, 'root' | 'ctx'>, max: number, index: string): Promise<Array<{ path: string; size: number }>> {
  const { stdout } = await gitWith({ GIT_INDEX_FILE: index }, ['ls-files', '-z', '--others', '--exclude-standard'], { cwd: repo.root, env: repo.ctx.env })
  const out: Array<{ path: string; size: number }> = []
  for (const rel of stdout.split('\0')) {
    if (!rel) continue
    try {
      const st = fs.lstatSync(path.join(repo.root, rel))
      if (st.isFile() && st.size > max) out.push({ path: rel, size: st.size })
    } catch {
      // vanished since listing: git add will not see it either
    }
  }
  return out
}

export async function snapshotTree(repo: Pick<Repo, 'root' | 'ctx' | 'gitDir' | 'xpDir'>, opts: SnapshotOptions): Promise<Snapshot> {
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
    const large = opts.large ?? (await largeUntracked(repo, opts.maxFileSize, index))
    // untracked files that look like secrets stay out unless snapshot.include names them (core/safety)
    const { stdout: others } = await run(['ls-files', '-z', '--others', '--exclude-standard'])
    const forced = new Set(opts.force ?? [])
    const leftOut = leftOutOfSnapshot(others.split('\0').filter((p) => p && !forced.has(p)), { include: opts.include, exclude: opts.excludeGlobs })
    const skip = [...large.map((l) => l.path), ...(opts.exclude ?? []), ...leftOut]
    const specs = ['.', ...skip.map(excluded)]
    await run(['add', '-A', '--pathspec-from-file=-', '--pathspec-file-nul'], specs.join('\0'))
    if (opts.exclude?.length) {
      // tracked files that are now data behind pointers leave the tree
      await run(['rm', '-r', '--cached', '-q', '--ignore-unmatch', '--pathspec-from-file=-', '--pathspec-file-nul'], opts.exclude.map(literal).join('\0'))
    }
    // Files to include even if ignored, and the extra blobs, go in with one hash-object and
    // one update-index: two spawns however many there are.
    const force = (opts.force ?? []).filter((f) => !skip.includes(f)).flatMap((f) => {
      try {
        guardRead(repo.root, f) // never the bytes of a file outside the repository (a symlinked folder)
        const st = fs.lstatSync(path.join(repo.root, f))
        return st.isFile() ? [{ path: f, file: path.join(repo.root, f), mode: st.mode & 0o111 ? '100755' : '100644' }] : []
      } catch {
        return []
      }
    })
    const blobs = (opts.extra ?? []).map((x, i) => {
      const file = path.join(tmpDir, `blob-${opts.key}-${i}`)
      fs.writeFileSync(file, x.content)
      return { path: x.path, file, mode: '100644', temp: true }
    })
    const entries = [...force, ...blobs]
    if (entries.length) {
      try {
        const { stdout } = await git(['hash-object', '-w', '--stdin-paths'], { cwd: repo.root, env: repo.ctx.env, input: entries.map((e) => e.file).join('\n') + '\n' })
        const oids = stdout.trim().split('\n')
        const info = entries.map((e, i) => `${e.mode} ${oids[i]}\t${e.path}`).join('\n') + '\n'
        await run(['update-index', '--add', '--index-info'], info)
      } finally {
        for (const b of blobs) fs.rmSync(b.file, { force: true })
      }
    }
    const { stdout } = await run(['write-tree'])
    return { tree: stdout.trim(), large, leftOut }
  } finally {
    fs.rmSync(index, { force: true })
    fs.rmSync(index + '.lock', { force: true })
  }
}
