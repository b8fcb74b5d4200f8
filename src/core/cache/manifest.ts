/**
 * Directory manifests (docs/architecture.md#cache): canonical JSON `[{"path","oid","size","mode"}]`,
 * sorted by path (byte order of UTF-8), no whitespace, so the same directory always gives
 * the same bytes and the same oid. Paths are relative and `/`-separated; an absolute path,
 * `..`, `.` or an empty segment is refused on read (XP_UNSAFE_PATH), so a hostile manifest
 * cannot write outside its folder. `mode` is 493 (0755) for executables, else 420 (0644).
 */
import { XpError } from '../errors.js'
import { checkRelPath } from '../safety/paths.js'

export interface ManifestEntry {
  path: string
  oid: string
  size: number
  mode: number
}

export const MODE_FILE = 0o644
export const MODE_EXEC = 0o755

/** The mode recorded for a file: only the owner's execute bit matters. */
export function modeOf(statMode: number): number {
  return statMode & 0o100 ? MODE_EXEC : MODE_FILE
}

const FILE_OID = /^[0-9a-f]{32}$/

/**
 * Refuse a relative path that could escape the folder it is relative to (the path guard's
 * `checkRelPath`, core/safety/paths.ts).
 *
 * @example
 * safeRelPath('a/b.csv') // 'a/b.csv'; safeRelPath('../x') throws XP_UNSAFE_PATH
 */
export function safeRelPath(p: unknown, where = 'path'): string {
  return checkRelPath(p, where)
}

/** UTF-8 byte order. For text without surrogates (U+D800 and up) it is UTF-16 order, which is cheap. */
export function comparePaths(a: string, b: string): number {
  if (/[\ud800-\uffff]/.test(a) || /[\ud800-\uffff]/.test(b)) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * The canonical bytes of a manifest. Entries are sorted here; duplicates are an error.
 *
 * @example
 * encodeManifest([{ path: 'a.csv', oid: 'dd3b...', size: 12, mode: 420 }]).toString()
 * // '[{"path":"a.csv","oid":"dd3b...","size":12,"mode":420}]'
 */
export function encodeManifest(entries: ManifestEntry[]): Buffer {
  const wide = entries.some((e) => /[\ud800-\uffff]/.test(e.path))
  const sorted = [...entries].sort(wide ? (a, b) => comparePaths(a.path, b.path) : (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const parts: string[] = []
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]
    if (i > 0 && sorted[i - 1].path === e.path) throw new XpError('XP_BAD_MANIFEST', `duplicate path in manifest: ${e.path}`)
    parts.push(`{"path":${JSON.stringify(e.path)},"oid":${JSON.stringify(e.oid)},"size":${e.size},"mode":${e.mode}}`)
  }
  return Buffer.from(`[${parts.join(',')}]`, 'utf8')
}

/**
 * Parse and validate a manifest's bytes; `where` names it in errors.
 * Rejects unsafe paths (XP_UNSAFE_PATH) and anything malformed (XP_BAD_MANIFEST).
 */
export function decodeManifest(bytes: Buffer | string, where = 'manifest'): ManifestEntry[] {
  let v: unknown
  try {
    v = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'))
  } catch {
    throw new XpError('XP_BAD_MANIFEST', `${where} is not valid JSON`, { hint: 'run `xp fsck` to find corrupt objects' })
  }
  if (!Array.isArray(v)) throw new XpError('XP_BAD_MANIFEST', `${where} is not a list of files`)
  const seen = new Set<string>()
  const dirs = new Set<string>()
  for (const e of v as ManifestEntry[]) {
    if (!e || typeof e !== 'object') throw new XpError('XP_BAD_MANIFEST', `${where} has an entry that is not an object`)
    safeRelPath(e.path, where)
    if (typeof e.oid !== 'string' || !FILE_OID.test(e.oid)) throw new XpError('XP_BAD_MANIFEST', `${where}: bad oid for ${e.path}`)
    if (!Number.isSafeInteger(e.size) || e.size < 0) throw new XpError('XP_BAD_MANIFEST', `${where}: bad size for ${e.path}`)
    if (e.mode !== MODE_FILE && e.mode !== MODE_EXEC) e.mode = MODE_FILE
    if (seen.has(e.path)) throw new XpError('XP_BAD_MANIFEST', `${where}: duplicate path ${e.path}`)
    seen.add(e.path)
    const segs = e.path.split('/')
    for (let i = 1; i < segs.length; i++) dirs.add(segs.slice(0, i).join('/'))
  }
  // a path that is both a file and a folder would make one entry write through the other
  for (const d of dirs) if (seen.has(d)) throw new XpError('XP_BAD_MANIFEST', `${where}: ${d} is both a file and a folder`)
  return v as ManifestEntry[]
}

/** Totals recorded beside a directory's oid. */
export function manifestTotals(entries: ManifestEntry[]): { size: number; files: number } {
  let size = 0
  for (const e of entries) size += e.size
  return { size, files: entries.length }
}
