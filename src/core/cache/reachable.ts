/**
 * Which cache objects are in use: those named by run records (deps, outs) and by pointer
 * files in the trees of given commits, and by the pointer files of the working trees.
 * Directory oids are expanded to the file oids of their manifests when the manifest is in
 * the cache. `xp gc` keeps exactly this set; `xp push` uploads it.
 *
 * Trees are read through one `git cat-file --batch` and each tree is visited once, however
 * many commits share it, so 10,000 runs of one project cost about as much as their
 * distinct trees.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { git, BatchSession } from '../git.js'
import { Oid } from './oid.js'
import { readVerified, hasObject } from './objects.js'
import { decodeManifest } from './manifest.js'
import { decodePointer, readPointer, POINTER_SUFFIX, type LocatedPointer } from './pointer.js'

export interface ReachableOptions {
  /** commits (or any revisions naming commits) whose records and pointer files count */
  commits?: string[]
  /** count the pointer files of every working tree of the repository (default true) */
  worktree?: boolean
}

/** Parse a git tree object: entries of `<mode> <name>\0<raw id>`. */
export function parseTree(content: Buffer, idBytes: number): Array<{ mode: string; name: string; oid: string }> {
  const out: Array<{ mode: string; name: string; oid: string }> = []
  let pos = 0
  while (pos < content.length) {
    const sp = content.indexOf(32, pos)
    const nul = content.indexOf(0, sp)
    if (sp < 0 || nul < 0) break
    out.push({
      mode: content.toString('latin1', pos, sp),
      name: content.toString('utf8', sp + 1, nul),
      oid: content.toString('hex', nul + 1, nul + 1 + idBytes),
    })
    pos = nul + 1 + idBytes
  }
  return out
}

/**
 * The oids the given commits and the working trees reference.
 *
 * @example
 * const keep = await referencedOids(repo, { commits: ['refs/xp/runs/abc'], worktree: true })
 */
export async function referencedOids(repo: Pick<Repo, 'root' | 'ctx' | 'cacheDir'>, opts: ReachableOptions = {}): Promise<Set<string>> {
  const oids = new Set<string>()
  const add = (o: unknown) => {
    if (typeof o === 'string' && Oid.isValid(o)) oids.add(o)
  }
  if (opts.commits?.length) await fromCommits(repo, opts.commits, add)
  if (opts.worktree ?? true) {
    for (const root of await worktreeRoots(repo)) for (const p of await worktreePointers({ ...repo, root }, { skipBad: true })) add(p.oid)
  }
  await expandDirs(repo.cacheDir, oids)
  return oids
}

/** Add the file oids of every manifest in the set that is in the cache. */
export async function expandDirs(cacheDir: string, oids: Set<string>): Promise<void> {
  for (const o of [...oids]) {
    if (!o.endsWith('.dir') || !hasObject(cacheDir, o)) continue
    try {
      for (const e of decodeManifest(await readVerified(cacheDir, o), `manifest ${o}`)) oids.add(e.oid)
    } catch {
      // a corrupt manifest is fsck's business; its files cannot be named
    }
  }
}

async function fromCommits(repo: Pick<Repo, 'root' | 'ctx'>, commits: string[], add: (o: unknown) => void) {
  // one bulk read per level (commits, then each depth of trees, then pointer blobs), all
  // over one git process: for 10,000 runs a few round trips, not 20,000
  const session = new BatchSession({ cwd: repo.root, env: repo.ctx.env })
  try {
    await walkCommits(session, commits, add)
  } finally {
    session.close()
  }
}

async function walkCommits(session: BatchSession, commits: string[], add: (o: unknown) => void) {
  const objs = await session.read([...new Set(commits)].map((c) => (/^[0-9a-f]{40,64}$/.test(c) ? c : `${c}^{commit}`)))
  const trees: string[] = []
  for (const obj of objs) {
    if (obj?.type !== 'commit') continue
    const text = obj.content.toString('utf8')
    for (const o of recordDataOids(text)) add(o)
    const tree = /^tree ([0-9a-f]+)/.exec(text)?.[1]
    if (tree) trees.push(tree)
  }
  const blobs = [...(await walkTrees(session, trees))]
  const contents = await session.read(blobs)
  blobs.forEach((b, i) => {
    const blob = contents[i]
    if (!blob) return
    try {
      add(decodePointer(blob.content.toString('utf8'), b).oid)
    } catch {
      // not a pointer (any file may end in .xp)
    }
  })
}

/**
 * The oids of a run record's `deps` and `outs`, read from those two lines alone: a full
 * decodeRecord of 10,000 records costs 0.2 s, this a tenth of it.
 */
export function recordDataOids(message: string): unknown[] {
  const start = message.indexOf('\n\nxp: ')
  if (start < 0) return []
  const out: unknown[] = []
  for (const key of ['\ndeps: ', '\nouts: ']) {
    const i = message.indexOf(key, start)
    if (i < 0) continue
    const end = message.indexOf('\n', i + key.length)
    try {
      const v = JSON.parse(message.slice(i + key.length, end < 0 ? undefined : end)) as Record<string, { oid?: unknown }> | null
      for (const e of Object.values(v ?? {})) out.push(e?.oid)
    } catch {
      // not JSON: not a record line of ours
    }
  }
  return out
}

/** Visit trees level by level, each level one bulk read, each tree once; returns the pointer blobs. */
async function walkTrees(session: BatchSession, roots: string[]): Promise<Set<string>> {
  const seen = new Set<string>()
  const blobs = new Set<string>()
  let level = roots
  while (level.length) {
    const todo = [...new Set(level)].filter((t) => !seen.has(t))
    for (const t of todo) seen.add(t)
    const objs = await session.read(todo)
    level = []
    objs.forEach((obj, i) => {
      if (obj?.type !== 'tree') return
      for (const e of parseTree(obj.content, todo[i].length / 2)) {
        if (e.mode === '40000') level.push(e.oid)
        else if ((e.mode === '100644' || e.mode === '100755') && e.name.endsWith(POINTER_SUFFIX)) blobs.add(e.oid)
      }
    })
  }
  return blobs
}

/** Every working tree of this repository (they share the cache). */
export async function worktreeRoots(repo: Pick<Repo, 'root' | 'ctx'> & { commonDir?: string }): Promise<string[]> {
  // no `worktrees/` in the common git dir: no linked worktree, and no `git worktree list` to ask
  if (repo.commonDir && !fs.existsSync(path.join(repo.commonDir, 'worktrees'))) return [repo.root]
  const res = await git(['worktree', 'list', '--porcelain'], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  const roots =
    res.code === 0
      ? res.stdout
          .split('\n')
          .filter((l) => l.startsWith('worktree '))
          .map((l) => l.slice(9))
      : []
  if (!roots.includes(repo.root)) roots.unshift(repo.root)
  return roots.filter((r) => fs.existsSync(r))
}

/**
 * The pointer files of a working tree, tracked or not (ignored ones excluded), validated.
 * With `skipBad`, pointers that fail validation are left out instead of failing.
 */
export async function worktreePointers(repo: Pick<Repo, 'root' | 'ctx'>, opts: { skipBad?: boolean; paths?: string[] } = {}): Promise<LocatedPointer[]> {
  const specs = opts.paths?.length ? opts.paths.map((p) => `:(literal)${p}`) : ['*' + POINTER_SUFFIX]
  const { stdout } = await git(['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...specs], { cwd: repo.root, env: repo.ctx.env })
  const out: LocatedPointer[] = []
  for (const rel of new Set(stdout.split('\0'))) {
    if (!rel.endsWith(POINTER_SUFFIX) || path.posix.basename(rel) === POINTER_SUFFIX) continue
    if (!fs.existsSync(path.join(repo.root, rel))) continue
    try {
      out.push(readPointer(repo.root, rel))
    } catch (e) {
      if (!opts.skipBad) throw e
    }
  }
  return out.sort((a, b) => (a.pointerFile < b.pointerFile ? -1 : 1))
}
