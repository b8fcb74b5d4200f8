/**
 * Pointer files `<path>.xp` (docs/architecture.md#cache): tracked in git, the data itself in `.gitignore`.
 * ```yaml
 * path: train
 * oid: 9f2c...e1.dir
 * size: 123456
 * files: 40
 * ```
 * `path` is relative to the pointer's folder. Reading validates everything: a path that is
 * absolute, has `..`, or resolves through a symlink outside the repository is refused
 * with XP_UNSAFE_PATH before anything is written.
 */
import fs from 'node:fs'
import path from 'node:path'
import { yaml } from '../yaml.js'
import { XpError } from '../errors.js'
import { isInside, writeFileAtomic } from '../fsutil.js'
import { Oid } from './oid.js'
import { safeRelPath } from './manifest.js'

export const POINTER_SUFFIX = '.xp'

export interface Pointer {
  path: string
  oid: string
  size: number
  files?: number
}

export interface LocatedPointer extends Pointer {
  /** the pointer file, relative to the repo root, `/`-separated */
  pointerFile: string
  /** the data path, relative to the repo root, `/`-separated */
  dataPath: string
}

/** The text of a pointer file. Strings that YAML would misread are written as JSON. */
export function encodePointer(p: Pointer): string {
  // bare only where every YAML reader sees a string: not a keyword, not number-like (1e5, 0x1f, 123)
  const str = (s: string) => (/^[A-Za-z_][A-Za-z0-9_./+-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|y|n|~|nan|inf)$/i.test(s) ? s : JSON.stringify(s))
  const lines = [`path: ${str(p.path)}`, `oid: ${p.oid}`, `size: ${p.size}`]
  if (p.files !== undefined) lines.push(`files: ${p.files}`)
  return lines.join('\n') + '\n'
}

/**
 * Parse a pointer file's text and check its fields; `where` names it in errors.
 *
 * @example
 * decodePointer('path: train\noid: 9f2c...e1.dir\nsize: 12\nfiles: 3\n', 'train.xp').files // 3
 */
/**
 * The pointer files xp writes, read without the yaml library (status and checkout read
 * thousands of them, and loading yaml costs more than reading them): null for anything
 * else, which then goes to the full YAML parser.
 */
function decodePlain(text: string): Record<string, unknown> | null {
  const v: Record<string, unknown> = {}
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^(path|oid|size|files): (.+)$/.exec(line)
    if (!m || m[1] in v) return null
    const raw = m[2]
    if (m[1] === 'size' || m[1] === 'files') {
      if (!/^\d+$/.test(raw)) return null
      v[m[1]] = Number(raw)
    } else if (m[1] === 'oid') {
      if (!/^[0-9a-f]{32}(\.dir)?$/.test(raw)) return null
      v.oid = raw
    } else if (raw.startsWith('"')) {
      try {
        v.path = JSON.parse(raw)
      } catch {
        return null
      }
    } else if (/^[A-Za-z_][A-Za-z0-9_./+-]*$/.test(raw) && !/^(true|false|null|yes|no|on|off|y|n|~|nan|inf)$/i.test(raw)) v.path = raw
    else return null
  }
  return v
}

export function decodePointer(text: string, where: string): Pointer {
  let parsed: unknown = decodePlain(text)
  try {
    parsed ??= yaml().parse(text)
  } catch (e) {
    throw new XpError('XP_BAD_POINTER', `${where}: not a valid pointer file (${(e as Error).message.split('\n')[0]})`)
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new XpError('XP_BAD_POINTER', `${where}: not a valid pointer file`)
  const v = parsed as Record<string, unknown>
  const rel = safeRelPath(typeof v.path === 'number' ? String(v.path) : v.path, where)
  const { oid, size, files } = v
  if (typeof oid !== 'string' || !Oid.isValid(oid)) throw new XpError('XP_BAD_POINTER', `${where}: bad oid ${JSON.stringify(oid)}`)
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new XpError('XP_BAD_POINTER', `${where}: bad size`)
  const p: Pointer = { path: rel, oid, size }
  if (files !== undefined && files !== null) {
    if (typeof files !== 'number' || !Number.isSafeInteger(files) || files < 0) throw new XpError('XP_BAD_POINTER', `${where}: bad files count`)
    p.files = files
  }
  return p
}

/** The repo-relative path of the pointer file for a repo-relative data path. */
export function pointerFileFor(dataPath: string): string {
  return dataPath + POINTER_SUFFIX
}

/**
 * Resolve a pointer's data path and refuse any that leaves the repository, directly or
 * through a symlinked folder on the way. The data path itself may not be a symlink to
 * outside either (it would be written through).
 */
export function resolveDataPath(root: string, pointerFile: string, rel: string): string {
  const pointerDir = path.posix.dirname(pointerFile)
  const dataPath = pointerDir === '.' ? rel : `${pointerDir}/${rel}`
  if (dataPath.split('/')[0] === '.xp') throw new XpError('XP_UNSAFE_PATH', `${pointerFile}: ${rel} is inside .xp/, which is not data`)
  safeRelPath(dataPath, pointerFile)
  const abs = path.join(root, dataPath)
  const unsafe = () =>
    new XpError('XP_UNSAFE_PATH', `${pointerFile}: ${rel} resolves outside the repository`, {
      hint: 'data paths must stay inside the repository; remove the symlink or fix the pointer',
    })
  if (!isInside(root, abs)) throw unsafe()
  const realRoot = fs.realpathSync(root)
  // walk up to the deepest part that exists and check where it really is; a file
  // symlinked into the cache (link type symlink) is replaced, never written through
  let probe = abs
  try {
    if (fs.lstatSync(abs).isSymbolicLink() && fs.statSync(abs).isFile()) probe = path.dirname(abs)
  } catch {
    // dangling or absent: handled below
  }
  for (;;) {
    let real: string | null = null
    try {
      real = fs.realpathSync(probe)
    } catch {
      real = null
    }
    if (real !== null) {
      if (!isInside(realRoot, real)) throw unsafe()
      break
    }
    // a dangling symlink counts as escaping: we cannot tell where it would write
    try {
      if (fs.lstatSync(probe).isSymbolicLink()) throw unsafe()
    } catch (e) {
      if (e instanceof XpError) throw e
    }
    const up = path.dirname(probe)
    if (up === probe) break
    probe = up
  }
  return dataPath
}

/** Read and validate a pointer file (repo-relative path), resolving its data path safely. */
export function readPointer(root: string, pointerFile: string): LocatedPointer {
  const text = fs.readFileSync(path.join(root, pointerFile), 'utf8')
  return locate(root, pointerFile, decodePointer(text, pointerFile))
}

/** Validate a decoded pointer found at `pointerFile` (e.g. a blob from a commit). */
export function locate(root: string, pointerFile: string, p: Pointer): LocatedPointer {
  return { ...p, pointerFile, dataPath: resolveDataPath(root, pointerFile, p.path) }
}

/** Does the pointer file (repo-relative path) hold exactly these bytes already? */
export function pointerHolds(root: string, pointerFile: string, p: Pointer): boolean {
  try {
    return fs.readFileSync(path.join(root, pointerFile), 'utf8') === encodePointer(p)
  } catch {
    return false
  }
}

/** Write a pointer file atomically (repo-relative path); one that already holds these bytes is left as it is (a no-op `xp add` writes nothing). */
export function writePointer(root: string, pointerFile: string, p: Pointer): void {
  if (!pointerHolds(root, pointerFile, p)) writeFileAtomic(path.join(root, pointerFile), encodePointer(p))
}
