/**
 * `xp add PATH...`: hash files and directories into the cache, write `PATH.xp` beside each
 * and ignore PATH in git. Unchanged files are found by the stat cache and never read; a
 * changed directory rehashes only its changed files.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { ensureXpDir } from '../repo.js'
import { git } from '../git.js'
import { XpError, EXIT } from '../errors.js'
import { isInside } from '../fsutil.js'
import { cleanTemp } from './objects.js'
import { StatCache } from './state.js'
import { hashPath, snapshotHit, touchObject, type HashedPath } from './workspace.js'
import { ObjectWriter } from './writer.js'
import { worktreePointers } from './reachable.js'
import { pointerFileFor, pointerHolds, writePointer, resolveDataPath, POINTER_SUFFIX } from './pointer.js'

export interface AddedPath {
  path: string
  pointer: string
  oid: string
  size: number
  files?: number
}

/**
 * Turn a user's path (relative to cwd) into a repo-relative `/`-separated data path,
 * refusing anything outside the repository or inside `.git`/`.xp`. `x.xp` names `x`.
 */
export function dataPathArg(repo: Pick<Repo, 'root' | 'ctx'>, arg: string): string {
  const abs = path.resolve(repo.ctx.cwd, arg)
  if (!isInside(repo.root, abs) || abs === repo.root)
    throw new XpError('XP_UNSAFE_PATH', `${arg} is outside the repository (or is its root)`, {
      hint: 'xp tracks data inside the repository',
      exitCode: EXIT.usage,
    })
  let rel = path.relative(repo.root, abs).split(path.sep).join('/')
  if (rel.endsWith(POINTER_SUFFIX) && fs.existsSync(abs.slice(0, -POINTER_SUFFIX.length))) rel = rel.slice(0, -POINTER_SUFFIX.length)
  const top = rel.split('/')[0]
  if (top === '.git' || top === '.xp') throw new XpError('XP_UNSAFE_PATH', `${arg} is inside ${top}/, which is not data`, { exitCode: EXIT.usage })
  return rel
}

/**
 * The .gitignore line that ignores exactly the entry `name` beside it: anchored with `/`,
 * every wildcard and escape character (`* ? [ ] \\`) and a leading `!` or `#` escaped
 * with a backslash, each trailing space escaped (git drops unescaped ones). A name with a
 * line break cannot be written as a .gitignore line at all: XP_UNSAFE_PATH.
 *
 * @example
 * gitignoreLine('a[1]') // '/a\\[1\\]'
 */
export function gitignoreLine(name: string): string {
  if (/[\r\n]/.test(name))
    throw new XpError('XP_UNSAFE_PATH', `${JSON.stringify(name)} has a line break, which a .gitignore line cannot hold`, {
      hint: 'rename it without the line break',
      exitCode: EXIT.usage,
    })
  let s = name.replace(/[\\*?[\]!#]/g, (c) => '\\' + c)
  const trailing = /( +)$/.exec(s)?.[1].length ?? 0
  if (trailing) s = s.slice(0, -trailing) + '\\ '.repeat(trailing)
  return '/' + s
}

/** Refuse what cannot be data: git's own .gitignore, and a path inside or around data tracked already. */
function checkNotOverlapping(rels: string[], existing: string[]): void {
  for (const rel of rels) {
    if (path.posix.basename(rel) === '.gitignore')
      throw new XpError('XP_NOT_DATA', `${rel} is git's ignore file, which xp must edit and git must track`, {
        hint: 'track it with git: git add ' + rel,
      })
  }
  const all = [...rels.map((r) => ({ rel: r, by: 'this add' })), ...existing.map((r) => ({ rel: r, by: `${r}.xp` }))]
  for (const rel of rels) {
    for (const o of all) {
      if (o.rel === rel) continue
      const inner = rel.startsWith(o.rel + '/') ? rel : o.rel.startsWith(rel + '/') ? o.rel : null
      if (!inner) continue
      const outer = inner === rel ? o.rel : rel
      throw new XpError(
        'XP_OVERLAPPING_DATA',
        `${inner} is inside ${outer}, which is tracked as one piece of data (${o.by === 'this add' ? 'named twice in this add' : 'by ' + o.by})`,
        {
          hint: `track the folder as a whole (xp add ${outer}), or stop tracking it first (remove ${outer}.xp) and add the parts`,
          data: { path: inner, tracked: outer },
        },
      )
    }
  }
}

/**
 * Add `/name` to the .gitignore beside a data path, unless it is there. Concurrent adds
 * take turns through a lock file so that neither duplicates nor loses a line.
 */
export function ignoreInGit(root: string, rel: string): void {
  const dir = path.posix.dirname(rel)
  const file = path.join(root, dir === '.' ? '' : dir, '.gitignore')
  const line = gitignoreLine(path.posix.basename(rel))
  const has = (text: string) => text.split(/\r?\n/).includes(line)
  // there already (every add but the first): read without taking the lock, write nothing
  try {
    if (has(fs.readFileSync(file, 'utf8'))) return
  } catch {
    // none yet
  }
  withLock(file + '.xp-lock', () => {
    let text = ''
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch {
      // none yet
    }
    if (has(text)) return
    fs.appendFileSync(file, (text && !text.endsWith('\n') ? '\n' : '') + line + '\n')
  })
}

function isDir(abs: string): boolean {
  try {
    return fs.statSync(abs).isDirectory()
  } catch {
    return false
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

/** Hold an exclusive lock file around `fn`; a lock older than 10 s is taken over (its owner died). */
function withLock(lock: string, fn: () => void) {
  for (let i = 0; ; i++) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx'))
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 10_000) fs.rmSync(lock, { force: true })
      } catch {
        // released meanwhile
      }
      if (i > 2000) throw new XpError('XP_LOCKED', `${lock} is held by another process`, { hint: 'remove it if no xp command is running' })
      Atomics.wait(sleeper, 0, 0, 5)
    }
  }
  try {
    fn()
  } finally {
    fs.rmSync(lock, { force: true })
  }
}

/**
 * Add paths to the cache and write their pointer files.
 *
 * @example
 * const [r] = await addPaths(repo, { paths: ['data/train'] }) // r.oid ends with .dir
 */
export async function addPaths(repo: Repo, opts: { paths: string[] }): Promise<AddedPath[]> {
  if (!opts.paths.length) throw new XpError('XP_USAGE', 'name at least one path to add', {})
  ensureXpDir(repo)
  cleanTemp(repo.cacheDir)
  const rels = [...new Set(opts.paths.map((p) => dataPathArg(repo, p)))]
  // Refuse first, write nothing: symlinked folders out of the repo, files git tracks,
  // .gitignore itself, and data inside (or around) data tracked already.
  for (const rel of rels) resolveDataPath(repo.root, pointerFileFor(rel), path.posix.basename(rel))
  // the two listings run side by side (each is a git process)
  const listing = git(['ls-files', '-z', '--', ...rels.map((r) => `:(literal)${r}`)], { cwd: repo.root, env: repo.ctx.env })
  listing.catch(() => {}) // awaited below; a failure of the other one first must not leave it unhandled
  const pointing = worktreePointers(repo, { skipBad: true })
  pointing.catch(() => {})
  // meanwhile (reading only), the common no-op: folders that still match their snapshot
  const state = StatCache.load(repo.xpDir)
  const unchanged = new Map<string, HashedPath>()
  for (const rel of rels) {
    try {
      if (!fs.lstatSync(path.join(repo.root, rel)).isDirectory()) continue
      const hit = snapshotHit({ root: repo.root, cacheDir: repo.cacheDir, state, store: true }, rel)
      if (hit) unchanged.set(rel, hit)
    } catch {
      // not there, or not readable: hashPath says so below, after the checks
    }
  }
  const existing = (await pointing).map((p) => p.dataPath)
  checkNotOverlapping(rels, existing)
  for (const rel of rels) gitignoreLine(path.posix.basename(rel))
  const tracked = await listing
  const inGit = tracked.stdout.split('\0').filter(Boolean)
  if (inGit.length)
    throw new XpError('XP_TRACKED_BY_GIT', `${inGit[0]} is tracked by git${inGit.length > 1 ? ` (and ${inGit.length - 1} more)` : ''}`, {
      hint: `stop tracking it first: git rm -r --cached ${inGit[0]}`,
      data: { paths: inGit },
    })
  // which pointers git would ignore, asked while the data is hashed (the `/name` lines this
  // add writes never match a pointer's name, so the answer is the same before and after);
  // only for pointers this add may write: one that holds the unchanged data already was
  // warned about when it was written, and a no-op add runs no third git process
  const toCheck = rels
    .filter((rel) => {
      const h = unchanged.get(rel)
      return !h || !pointerHolds(repo.root, pointerFileFor(rel), { path: path.posix.basename(rel), oid: h.oid, size: h.size, files: h.files })
    })
    .map((rel) => pointerFileFor(rel))
  const ignoring = toCheck.length
    ? git(['check-ignore', '-z', '--stdin'], { cwd: repo.root, env: repo.ctx.env, input: toCheck.join('\0') + '\0', allowFail: true })
    : Promise.resolve({ stdout: '' })
  ignoring.catch(() => {}) // awaited at the end; an add that fails first must not leave it unhandled
  const out: AddedPath[] = []
  let done = 0
  let bytes = 0
  // a folder's small files are written on a second thread while this one reads and hashes
  const writer = rels.some((r) => isDir(path.join(repo.root, r))) ? ObjectWriter.start(repo.cacheDir) : undefined
  try {
    for (const rel of rels) {
      const hit = unchanged.get(rel)
      const h =
        (hit && touchObject(repo.cacheDir, hit.oid) ? hit : undefined) ??
        (await hashPath(
          {
            root: repo.root,
            cacheDir: repo.cacheDir,
            state,
            store: true,
            writer,
            onFile: (n) => repo.ctx.onProgress?.({ phase: 'adding', done: ++done, bytes: (bytes += n) }),
          },
          rel,
        ))
      const pointer = pointerFileFor(rel)
      writePointer(repo.root, pointer, { path: path.posix.basename(rel), oid: h.oid, size: h.size, files: h.files })
      ignoreInGit(repo.root, rel)
      out.push({ path: rel, pointer, oid: h.oid, size: h.size, files: h.files })
    }
  } finally {
    await writer?.close()
    // rows are set only once their object is written, so a failed add saves a true cache;
    // a state that cannot be saved (a full disk) only costs a rehash next time
    try {
      state.save()
    } catch {
      // the original error, if any, is the one to report
    }
  }
  const written = new Set(out.map((a) => a.pointer))
  for (const p of (await ignoring).stdout.split('\0').filter((p) => written.has(p)))
    repo.ctx.warn(`${p} is ignored by git, so it will not be committed; un-ignore it or use \`git add -f ${p}\``)
  return out
}
