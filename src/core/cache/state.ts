/**
 * The stat cache `.xp/stat-cache` (docs/architecture.md#cache): for each repo-relative path, the
 * inode, mtime and size it had when it was hashed, and the oid. A file whose stat still
 * matches is not read again, so a no-op `xp add` or `xp status` of 20,000 files costs
 * 20,000 `lstat` calls. A row says what a file hashes to, never that its object is stored:
 * whoever stores checks the cache (docs/data.md, invariant 2).
 *
 * Binary, loaded without parsing a row (issue 16): the rows come in sections, one per hashed
 * folder (its files in the order the walk met them, with the folder's manifest oid: a
 * *snapshot*) and one of loose rows. A section is four arrays read straight out of the
 * file: the paths as one string (`\0` after each), the stats as float64 (inode, mtime in
 * ms as Node gives it, size, recorded mode), the oids as 16 raw bytes each, and, for a
 * folder, the state of the cache's 256 prefix folders when its objects were last listed
 * (see `objectsListedAt`). `xp status` of an unchanged folder compares the walk with the
 * snapshot in step, without one string or object per file; a lookup by path (`get`)
 * builds a section's index only when first asked. The whole file is covered by a SHA-1:
 * a damaged or truncated file is ignored (everything is hashed again), never trusted.
 * Written atomically when it changed: losing it, or a concurrent writer's update, only
 * costs a rehash (docs/architecture.md#principles). The text `.xp/state` of older versions is
 * read when there is no `stat-cache` yet (its rows still vouch, so an upgrade rereads
 * nothing) and removed on the first save.
 */
import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { writeFileAtomic } from '../fsutil.js'

const FILE = 'stat-cache'
const OLD_FILE = 'state'
const MAGIC = Buffer.from('xp-stat\x01')
const SUM = 20 // SHA-1
/** float64s per row: ino, mtimeMs, size, mode */
const W = 4
/** float64s per prefix folder: mtimeMs, ino */
export const PREFIX_SLOTS = 512
const OID_HEX = /^[0-9a-f]{32}$/
const NONE: never[] = []

export interface StatLike {
  ino: number
  mtimeMs: number
  size: number
}

interface Section {
  /** '' for loose rows, else the data path of a folder (rows are relative to it) */
  base: string
  /** the folder's manifest oid while the rows are exactly its walk; '' otherwise */
  oid: string
  /** the manifest's byte length (to check the stored object's size) */
  manifestBytes: number
  count: number
  /** relative paths, each followed by `\0` */
  names: string
  nums: Float64Array
  oids: Buffer
  /** per prefix folder of the cache: [mtimeMs, ino] when this folder's objects were all listed there; 0 = unknown */
  prefixes: Float64Array | null
  /** rel -> row, built on first lookup */
  index?: Map<string, number>
}

/** A file of the walk, as a folder snapshot records it. */
export interface SnapshotEntry {
  rel: string
  ino: number
  mtimeMs: number
  size: number
  mode: number
  oid: string
}

/** A folder's snapshot, for the walk to compare with in step (workspace.ts matchSnapshot). */
export interface Snapshot {
  base: string
  oid: string
  manifestBytes: number
  count: number
  names: string
  nums: Float64Array
  oids: Buffer
}

export class StatCache {
  private dirty = false
  /** rows set since the load that no section holds */
  private extra = new Map<string, { ino: number; mtimeMs: number; size: number; oid: string }>()

  private constructor(
    private readonly dir: string,
    private sections: Section[],
    /** the cache folder the prefix records are about */
    private cacheDir: string,
  ) {}

  /** Load `<xpDir>/stat-cache`; a missing, damaged or truncated file is an empty cache. */
  static load(xpDir: string): StatCache {
    let buf: Buffer | undefined
    try {
      buf = fs.readFileSync(path.join(xpDir, FILE))
    } catch {
      // absent: everything is hashed again
    }
    const parsed = buf ? decode(buf) : null
    const cache = new StatCache(xpDir, parsed?.sections ?? [], parsed?.cacheDir ?? '')
    if (buf === undefined) cache.legacy = loadLegacy(path.join(xpDir, OLD_FILE))
    return cache
  }

  /** rows of an older version's text file (`path TAB ino TAB mtime_us TAB size TAB oid`), read once when there is no new file, so that an upgrade rehashes nothing */
  private legacy: Map<string, string> | null = null

  /** The live rows for `key`, in every section that holds it (usually none or one). */
  private find(key: string): Array<{ s: Section; i: number }> {
    let out: Array<{ s: Section; i: number }> = NONE
    for (const s of this.sections) {
      let rel: string
      if (s.base === '') rel = key
      else if (key.length > s.base.length && key.startsWith(s.base) && key.charCodeAt(s.base.length) === 47) rel = key.slice(s.base.length + 1)
      else continue
      const i = indexOf(s).get(rel)
      if (i !== undefined && !Number.isNaN(s.nums[i * W])) {
        if (out === NONE) out = []
        out.push({ s, i })
      }
    }
    return out
  }

  /** The oid recorded for `rel` if the file still has the stat it had then. */
  get(rel: string, st: StatLike): string | undefined {
    const x = this.extra.get(rel)
    if (x) return x.ino === st.ino && x.mtimeMs === st.mtimeMs && x.size === st.size ? x.oid : undefined
    for (const f of this.find(rel)) {
      const n = f.s.nums
      const o = f.i * W
      if (n[o] === st.ino && n[o + 1] === st.mtimeMs && n[o + 2] === st.size) return f.s.oids.toString('hex', f.i * 16, f.i * 16 + 16)
    }
    const old = this.legacy?.get(rel)
    if (old !== undefined) {
      const s = `${st.ino}\t${Math.round(st.mtimeMs * 1000)}\t${st.size}\t`
      if (old.startsWith(s)) {
        const oid = old.slice(s.length)
        this.set(rel, st, oid) // kept, in this version's form
        return oid
      }
    }
    return undefined
  }

  set(rel: string, st: StatLike, oid: string): void {
    if (rel.includes('\0') || !OID_HEX.test(oid)) return // not recordable: simply rehashed next time
    if (!this.extra.has(rel)) {
      const found = this.find(rel)
      const same = (f: { s: Section; i: number }) => {
        const n = f.s.nums
        const o = f.i * W
        return n[o] === st.ino && n[o + 1] === st.mtimeMs && n[o + 2] === st.size && f.s.oids.toString('hex', f.i * 16, f.i * 16 + 16) === oid
      }
      if (found.length && found.every(same)) return
      // the rows move out of their sections, which then no longer are their folders' walks
      for (const f of found) {
        f.s.nums[f.i * W] = NaN
        f.s.oid = ''
      }
    }
    const x = this.extra.get(rel)
    if (x && x.ino === st.ino && x.mtimeMs === st.mtimeMs && x.size === st.size && x.oid === oid) return
    this.extra.set(rel, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, oid })
    this.dirty = true
  }

  /** Forget every row naming one of these oids (their objects were deleted). */
  dropOids(oids: Set<string>): void {
    for (const [k, v] of this.extra) {
      if (oids.has(v.oid)) {
        this.extra.delete(k)
        this.dirty = true
      }
    }
    for (const s of this.sections) {
      if (s.oid && oids.has(s.oid)) {
        s.oid = ''
        this.dirty = true
      }
      for (let i = 0; i < s.count; i++) {
        if (!Number.isNaN(s.nums[i * W]) && oids.has(s.oids.toString('hex', i * 16, i * 16 + 16))) {
          s.nums[i * W] = NaN
          s.oid = ''
          this.dirty = true
        }
      }
    }
  }

  delete(rel: string): void {
    if (this.extra.delete(rel)) this.dirty = true
    for (const f of this.find(rel)) {
      f.s.nums[f.i * W] = NaN
      f.s.oid = ''
      this.dirty = true
    }
  }

  /** The snapshot of the folder `base` (its walk as last hashed), if there is one. */
  snapshot(base: string): Snapshot | undefined {
    const s = this.sections.find((x) => x.base === base && x.oid)
    return s && { base, oid: s.oid, manifestBytes: s.manifestBytes, count: s.count, names: s.names, nums: s.nums, oids: s.oids }
  }

  /**
   * Record the folder `base` as just hashed: its files in walk order and its manifest oid.
   * Replaces its rows (those of files gone from it too).
   */
  setSnapshot(base: string, oid: string, manifestBytes: number, entries: SnapshotEntry[]): void {
    const count = entries.length
    const nums = new Float64Array(count * W)
    const oids = Buffer.allocUnsafe(count * 16)
    const names: string[] = []
    for (let i = 0; i < count; i++) {
      const e = entries[i]
      if (e.rel.includes('\0') || !OID_HEX.test(e.oid)) return
      nums[i * W] = e.ino
      nums[i * W + 1] = e.mtimeMs
      nums[i * W + 2] = e.size
      nums[i * W + 3] = e.mode
      oids.write(e.oid, i * 16, 16, 'hex')
      names.push(e.rel, '\0')
    }
    const old = this.sections.find((x) => x.base === base)
    const joined = names.join('')
    if (old && old.oid === oid && old.count === count && old.names === joined && equalArrays(old.nums, nums) && old.oids.equals(oids)) return
    this.sections = this.sections.filter((x) => x.base !== base)
    const prefix = base + '/'
    for (const k of this.extra.keys()) if (k.startsWith(prefix)) this.extra.delete(k)
    for (const s of this.sections) if (s.base === '') for (const [rel, i] of indexOf(s)) if (rel.startsWith(prefix)) s.nums[i * W] = NaN
    this.sections.push({ base, oid, manifestBytes, count, names: joined, nums, oids, prefixes: null })
    this.dirty = true
  }

  /**
   * For the folder snapshot `base`: the state ([mtimeMs, ino] per prefix folder, 0 for
   * unknown) of the cache `cacheDir`'s prefix folders when every object of the snapshot
   * was last seen there by a listing. Unknown for another cache folder.
   */
  objectsListedAt(base: string, cacheDir: string): Float64Array | null {
    if (cacheDir !== this.cacheDir) return null
    return this.sections.find((x) => x.base === base && x.oid)?.prefixes ?? null
  }

  setObjectsListedAt(base: string, cacheDir: string, prefixes: Float64Array): void {
    const s = this.sections.find((x) => x.base === base && x.oid)
    if (!s) return
    if (cacheDir !== this.cacheDir) {
      for (const x of this.sections) x.prefixes = null
      this.cacheDir = cacheDir
    }
    if (s.prefixes && equalArrays(s.prefixes, prefixes)) return
    s.prefixes = prefixes
    this.dirty = true
  }

  /** Write the file if anything changed. */
  save(): void {
    if (!this.dirty) return
    writeFileAtomic(path.join(this.dir, FILE), encode(this.sections, this.extra, this.cacheDir))
    fs.rmSync(path.join(this.dir, OLD_FILE), { force: true })
    this.dirty = false
  }
}

function loadLegacy(file: string): Map<string, string> | null {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return null
  }
  const HEADER = 'xp-state 2\n'
  if (!text.startsWith(HEADER)) return null
  const rows = new Map<string, string>()
  let pos = HEADER.length
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos)
    if (nl < 0) break // a torn last line is dropped
    const tab = text.indexOf('\t', pos)
    if (tab > pos && tab < nl) rows.set(text.slice(pos, tab), text.slice(tab + 1, nl))
    pos = nl + 1
  }
  return rows
}

function equalArrays(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false
  return true
}

function indexOf(s: Section): Map<string, number> {
  if (!s.index) {
    s.index = new Map()
    let pos = 0
    for (let i = 0; i < s.count; i++) {
      const end = s.names.indexOf('\0', pos)
      s.index.set(s.names.slice(pos, end), i)
      pos = end + 1
    }
  }
  return s.index
}

/*
 * Layout (little-endian): MAGIC, SHA-1 of the rest, u32 section count, u32 byte length and
 * the UTF-8 of the cache folder; per section: u32 count, u32 flags (1: prefix records),
 * f64 manifest bytes, u32+UTF-8 base, u32+ASCII oid, u32+UTF-8 names, padding to 8, the
 * float64 rows, the 16-byte oids, padding to 8, and the 512 float64 prefix records.
 */
function encode(sections: Section[], extra: Map<string, { ino: number; mtimeMs: number; size: number; oid: string }>, cacheDir: string): Buffer {
  const out: Section[] = []
  const loose: SnapshotEntry[] = []
  for (const s of sections) {
    let live = 0
    for (let i = 0; i < s.count; i++) if (!Number.isNaN(s.nums[i * W])) live++
    if (live === s.count && (s.oid || s.base === '')) {
      if (s.base === '') for (const [rel, i] of indexOf(s)) if (!extra.has(rel)) loose.push(row(s, i, rel))
      if (s.base !== '') out.push(s)
      continue
    }
    // a section with rows gone or changed: its remaining rows become loose rows
    for (const [rel, i] of indexOf(s)) {
      const key = s.base ? `${s.base}/${rel}` : rel
      if (!Number.isNaN(s.nums[i * W]) && !extra.has(key)) loose.push(row(s, i, key))
    }
  }
  for (const [rel, x] of extra) loose.push({ rel, ino: x.ino, mtimeMs: x.mtimeMs, size: x.size, mode: 0, oid: x.oid })
  if (loose.length) {
    const seen = new Set<string>()
    const names: string[] = []
    const nums = new Float64Array(loose.length * W)
    const oids = Buffer.allocUnsafe(loose.length * 16)
    let n = 0
    for (const e of loose) {
      if (seen.has(e.rel)) continue
      seen.add(e.rel)
      nums[n * W] = e.ino
      nums[n * W + 1] = e.mtimeMs
      nums[n * W + 2] = e.size
      nums[n * W + 3] = e.mode
      oids.write(e.oid, n * 16, 16, 'hex')
      names.push(e.rel, '\0')
      n++
    }
    out.push({ base: '', oid: '', manifestBytes: 0, count: n, names: names.join(''), nums: nums.subarray(0, n * W), oids, prefixes: null })
  }
  const parts: Buffer[] = []
  let len = 0
  const push = (b: Buffer) => {
    parts.push(b)
    len += b.length
  }
  const u32 = (n: number) => {
    const b = Buffer.allocUnsafe(4)
    b.writeUInt32LE(n)
    push(b)
  }
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8')
    u32(b.length)
    push(b)
  }
  const pad = () => {
    if (len % 8) push(Buffer.alloc(8 - (len % 8)))
  }
  // the SHA-1 covers what follows it; offsets count from the start of the file
  len = MAGIC.length + SUM
  u32(out.length)
  str(cacheDir)
  for (const s of out) {
    u32(s.count)
    u32(s.prefixes ? 1 : 0)
    const mb = Buffer.allocUnsafe(8)
    mb.writeDoubleLE(s.manifestBytes)
    push(mb)
    str(s.base)
    str(s.oid)
    str(s.names)
    pad()
    push(Buffer.from(s.nums.buffer, s.nums.byteOffset, s.nums.byteLength))
    push(s.oids.subarray(0, s.count * 16))
    if (s.prefixes) {
      pad()
      push(Buffer.from(s.prefixes.buffer, s.prefixes.byteOffset, s.prefixes.byteLength))
    }
  }
  const body = Buffer.concat(parts)
  const sum = createHash('sha1').update(body).digest()
  return Buffer.concat([MAGIC, sum, body])
}

function row(s: Section, i: number, rel: string): SnapshotEntry {
  const o = i * W
  return { rel, ino: s.nums[o], mtimeMs: s.nums[o + 1], size: s.nums[o + 2], mode: s.nums[o + 3], oid: s.oids.toString('hex', i * 16, i * 16 + 16) }
}

/** The sections of a file, or null when it is not one of ours or is damaged in any way. */
function decode(buf: Buffer): { sections: Section[]; cacheDir: string } | null {
  const start = MAGIC.length + SUM
  if (buf.length < start + 8 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return null
  if (!createHash('sha1').update(buf.subarray(start)).digest().equals(buf.subarray(MAGIC.length, start))) return null
  // the bytes are ours as written; bounds are still checked, so a bug cannot read past the end
  let pos = start
  const need = (n: number) => {
    if (n < 0 || pos + n > buf.length) throw new RangeError('truncated')
  }
  const u32 = () => {
    need(4)
    const v = buf.readUInt32LE(pos)
    pos += 4
    return v
  }
  const str = () => {
    const n = u32()
    need(n)
    const s = buf.toString('utf8', pos, pos + n)
    pos += n
    return s
  }
  const f64s = (n: number) => {
    pos = (pos + 7) & ~7
    need(n * 8)
    // a copy: the file's buffer may not be 8-aligned in memory
    const a = new Float64Array(n)
    new Uint8Array(a.buffer).set(buf.subarray(pos, pos + n * 8))
    pos += n * 8
    return a
  }
  try {
    const n = u32()
    const cacheDir = str()
    const sections: Section[] = []
    for (let k = 0; k < n; k++) {
      const count = u32()
      const flags = u32()
      need(8)
      const manifestBytes = buf.readDoubleLE(pos)
      pos += 8
      const base = str()
      const oid = str()
      const names = str()
      const nums = f64s(count * W)
      need(count * 16)
      const oids = buf.subarray(pos, pos + count * 16)
      pos += count * 16
      const prefixes = flags & 1 ? f64s(PREFIX_SLOTS) : null
      sections.push({ base, oid, manifestBytes, count, names, nums, oids, prefixes })
    }
    return pos === buf.length ? { sections, cacheDir } : null
  } catch {
    return null
  }
}
