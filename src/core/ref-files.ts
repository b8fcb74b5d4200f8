/**
 * Refs read from git's files backend in-process (loose ref files, then `packed-refs`), where
 * a `git for-each-ref` process cost push about 5 ms of CPU a listing (issue 16). Only ref
 * names and the object ids they hold: anything that needs an object read (a tag's type, its
 * peeled commit) still goes to git. Returns null whenever git must be asked instead: a
 * reftable repository, GIT_DIR and friends, a symbolic or unreadable ref, or more loose
 * refs than a `for-each-ref` process costs to read.
 *
 * Loose refs are read before `packed-refs`: `git pack-refs` writes the packed file before it
 * deletes the loose ones, so a ref being packed meanwhile is seen in one place or the other.
 */
import fs from 'node:fs'
import path from 'node:path'
import { XpError } from './errors.js'
import { git } from './git.js'

const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/
/** Past this many loose refs git's own listing is the cheaper (one file read each here, 2-6 µs). */
const LOOSE_LIMIT = 2000

/**
 * Whether the refs can be read from git's files backend here: not when git would be
 * pointed elsewhere by the environment, nor for a reftable repository (or one whose config
 * names a ref storage), nor when the config cannot be read.
 */
function filesBackend(commonDir: string, env: Record<string, string | undefined>): boolean {
  if (env.GIT_DIR || env.GIT_COMMON_DIR || env.GIT_OBJECT_DIRECTORY || env.GIT_CONFIG_PARAMETERS) return false
  try {
    return !fs.existsSync(path.join(commonDir, 'reftable')) && !/^\s*refstorage\s*=/im.test(fs.readFileSync(path.join(commonDir, 'config'), 'utf8'))
  } catch {
    return false
  }
}

/**
 * The refs under `prefix` (a folder: `refs/xp/runs/`) and the `exact` refs named, by name.
 *
 * @example
 * readRefFiles(repo.commonDir, repo.ctx.env, 'refs/xp/runs/', ['refs/notes/xp']) // Map { 'refs/xp/runs/01…' => 'a1b2…', … } or null
 */
export function readRefFiles(commonDir: string, env: Record<string, string | undefined>, prefix: string, exact: string[] = []): Map<string, string> | null {
  if (!filesBackend(commonDir, env)) return null
  try {
    const out = new Map<string, string>()
    let count = 0
    const loose = (ref: string): boolean => {
      if (++count > LOOSE_LIMIT) return false
      let text: string
      try {
        text = fs.readFileSync(path.join(commonDir, ref), 'latin1')
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ENOENT' // deleted meantime: packed or gone
      }
      const oid = text.trim()
      if (!OID.test(oid)) return false // a symbolic ref: git resolves it
      out.set(ref, oid)
      return true
    }
    const walk = (rel: string): boolean => {
      let entries: fs.Dirent[]
      try {
        entries = fs.readdirSync(path.join(commonDir, rel), { withFileTypes: true })
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ENOENT'
      }
      for (const e of entries) {
        const ref = `${rel}${e.name}`
        if (e.isDirectory()) {
          if (!walk(ref + '/')) return false
        } else if (!e.name.endsWith('.lock') && !loose(ref)) return false
      }
      return true
    }
    if (!walk(prefix)) return null
    for (const ref of exact) if (!loose(ref)) return null
    const packed = readPacked(commonDir)
    if (packed === null) return null
    const wanted = new Set(exact)
    // lines `OID REF`, peeled lines `^OID`, a `#` header; a loose ref overrides its packed line
    for (let at = packed.indexOf(` ${prefix}`); at >= 0; at = packed.indexOf(` ${prefix}`, at + 1)) {
      const start = packed.lastIndexOf('\n', at) + 1
      const end = packed.indexOf('\n', at)
      const ref = packed.slice(at + 1, end < 0 ? undefined : end)
      const oid = packed.slice(start, at)
      if (OID.test(oid) && !out.has(ref)) out.set(ref, oid)
    }
    for (const ref of wanted) {
      const oid = out.has(ref) ? undefined : packedOid(packed, ref)
      if (oid) out.set(ref, oid)
    }
    return out
  } catch {
    return null
  }
}

/** `packed-refs` as text ('' when there is none); null when it cannot be read. */
function readPacked(commonDir: string): string | null {
  try {
    return fs.readFileSync(path.join(commonDir, 'packed-refs'), 'latin1')
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? '' : null
  }
}

/** The object id `packed-refs` gives `ref` (lines `OID REF`), if a valid one. */
function packedOid(packed: string, ref: string): string | undefined {
  const at = packed.indexOf(` ${ref}\n`)
  if (at < 0) return undefined
  const oid = packed.slice(packed.lastIndexOf('\n', at) + 1, at)
  return OID.test(oid) ? oid : undefined
}

/**
 * The names of the refs under `prefix` (a folder: `refs/xp/runs/`), from the folder's
 * listing and `packed-refs`, without reading a loose ref's file: one `getdents` a folder
 * where reading 2,000 ref files took `xp run` 20 ms. Null when git must be asked. With
 * `first`, it stops at the first name found.
 *
 * @example
 * refNames(repo.commonDir, repo.ctx.env, 'refs/xp/runs/') // Set { 'refs/xp/runs/01…', … } or null
 */
export function refNames(commonDir: string, env: Record<string, string | undefined>, prefix: string, opts: { first?: boolean } = {}): Set<string> | null {
  if (!filesBackend(commonDir, env)) return null
  try {
    const out = new Set<string>()
    const walk = (rel: string): boolean => {
      let entries: fs.Dirent[]
      try {
        entries = fs.readdirSync(path.join(commonDir, rel), { withFileTypes: true })
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ENOENT'
      }
      for (const e of entries) {
        if (opts.first && out.size) return true
        if (e.isDirectory()) {
          if (!walk(`${rel}${e.name}/`)) return false
        } else if (!e.name.endsWith('.lock')) out.add(`${rel}${e.name}`)
      }
      return true
    }
    if (!walk(prefix)) return null
    if (opts.first && out.size) return out
    const packed = readPacked(commonDir)
    if (packed === null) return null
    for (let at = packed.indexOf(` ${prefix}`); at >= 0; at = packed.indexOf(` ${prefix}`, at + 1)) {
      const end = packed.indexOf('\n', at)
      out.add(packed.slice(at + 1, end < 0 ? undefined : end))
      if (opts.first) break
    }
    return out
  } catch {
    return null
  }
}

/**
 * The object id `ref` holds (its loose file, else its `packed-refs` line); null when it does
 * not exist, undefined when git must be asked (another backend, a symbolic ref).
 */
export function readRefFile(commonDir: string, env: Record<string, string | undefined>, ref: string): string | null | undefined {
  if (!filesBackend(commonDir, env)) return undefined
  try {
    const text = fs.readFileSync(path.join(commonDir, ref), 'latin1').trim()
    return OID.test(text) ? text : undefined // a symbolic ref: git resolves it
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return undefined
  }
  const packed = readPacked(commonDir)
  if (packed === null) return undefined
  if (!packed.includes(` ${ref}\n`)) return null
  return packedOid(packed, ref)
}

/**
 * Whether the repository has no ref at all under `prefix` (no loose file, no packed line):
 * then listing them needs no git process. False when unsure. Stops at the first ref (a
 * registry's 30,000 packed tags are not listed for it).
 */
export function noRefFiles(commonDir: string, env: Record<string, string | undefined>, prefix: string): boolean {
  return refNames(commonDir, env, prefix, { first: true })?.size === 0
}

/** `core.logAllRefUpdates = always` (git then keeps a reflog of every ref, refs/xp/ too), or `core.sharedRepository` (git sets a ref file's permissions for the group) */
const GIT_MUST_WRITE = /^\s*(?:logallrefupdates\s*=\s*always\s*$|sharedrepository\s*=)/im

/**
 * Create a ref that must not exist yet (a new run's `refs/xp/runs/ID`) in git's files
 * backend, as `git update-ref REF OID ''` would: `REF.lock` created exclusively (a
 * concurrent writer gets EEXIST and git's own answer), the id written, then renamed into
 * place. A `git update-ref` process cost `xp run` 5-7 ms of a 0.1 s overhead (issue 16).
 * Returns false, having written nothing, wherever git must do it: a reftable repository,
 * GIT_DIR and friends, a config that asks for a reflog of every ref or a shared
 * repository's permissions, a lock held. Throws XP_REF_EXISTS when the ref exists (a loose
 * file or a `packed-refs` line).
 *
 * @example
 * if (!createRefFile(repo.commonDir, repo.ctx.env, 'refs/xp/runs/01h…', commit)) await git(['update-ref', ref, commit, ''], …)
 */
export function createRefFile(commonDir: string, env: Record<string, string | undefined>, ref: string, oid: string): boolean {
  if (!OID.test(oid) || !/^refs\/[A-Za-z0-9._/-]+$/.test(ref) || ref.includes('..') || ref.endsWith('.lock')) return false
  if (!filesBackend(commonDir, env)) return false
  try {
    if (GIT_MUST_WRITE.test(fs.readFileSync(path.join(commonDir, 'config'), 'utf8'))) return false
  } catch {
    return false
  }
  const file = path.join(commonDir, ...ref.split('/'))
  const lock = `${file}.lock`
  let fd: number
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fd = fs.openSync(lock, 'wx', 0o666)
  } catch {
    return false // held by another writer, or a folder in the way: git says which
  }
  let renamed = false
  try {
    fs.writeSync(fd, `${oid}\n`)
    fs.closeSync(fd)
    fd = -1
    if (fs.existsSync(file) || packedHas(commonDir, ref)) throw refExists(ref)
    fs.renameSync(lock, file)
    renamed = true
    return true
  } finally {
    if (fd >= 0) fs.closeSync(fd)
    if (!renamed) fs.rmSync(lock, { force: true })
  }
}

function packedHas(commonDir: string, ref: string): boolean {
  let packed: string
  try {
    packed = fs.readFileSync(path.join(commonDir, 'packed-refs'), 'latin1')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw e
  }
  return packed.includes(` ${ref}\n`) || packed.endsWith(` ${ref}`)
}

function refExists(ref: string): XpError {
  return new XpError('XP_REF_EXISTS', `${ref} exists already`, { hint: 'run ids are unique: retry the command' })
}

/** A new ref, as `git update-ref -m WHY REF OID ''`: in-process in git's files backend (createRefFile), else by git. XP_REF_EXISTS when it exists. */
export async function createRef(
  repo: { root: string; commonDir: string; ctx: { env: Record<string, string | undefined> } },
  ref: string,
  oid: string,
  why: string,
): Promise<void> {
  if (createRefFile(repo.commonDir, repo.ctx.env, ref, oid)) return
  await git(['update-ref', '-m', why, ref, oid, ''], { cwd: repo.root, env: repo.ctx.env, errorCode: 'XP_REF_EXISTS' })
}
