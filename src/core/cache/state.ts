/**
 * The stat cache `.xp/state` (docs/architecture.md#cache): for each repo-relative path, the inode, mtime
 * and size it had when it was hashed, and the oid. A file whose stat still matches is
 * not read again, so a no-op `xp add` or `xp status` of 20,000 files costs 20,000
 * `lstat` calls. One text file, a line per path (`path TAB ino TAB mtime_us TAB size TAB oid`),
 * loaded once (four times faster to load than the same rows in JSON) and written
 * atomically when it changed: losing it, or a concurrent writer's update, only costs a
 * rehash (docs/architecture.md#principles). A row says what a file hashes to, never that its object is stored:
 * whoever stores checks the cache (docs/data.md, invariant 2). Rows `//complete/<oid>` of
 * older versions are read and ignored.
 */
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../fsutil.js'

const HEADER = 'xp-state 2\n'

export interface StatLike {
  ino: number
  mtimeMs: number
  size: number
}

// mtime in whole microseconds: integers format much faster than fractions, and finer
// differences than a microsecond do not occur between two writes of a file
const stamp = (st: StatLike) => `${st.ino}\t${Math.round(st.mtimeMs * 1000)}\t${st.size}\t`

export class StatCache {
  /** path -> `ino TAB mtime TAB size TAB oid` */
  private rows: Map<string, string>
  private dirty = false

  private constructor(
    private readonly file: string,
    rows: Map<string, string>,
  ) {
    this.rows = rows
  }

  /** Load `<xpDir>/state`; a missing or unreadable file is an empty cache. */
  static load(xpDir: string): StatCache {
    const file = path.join(xpDir, 'state')
    const rows = new Map<string, string>()
    let text = ''
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch {
      // absent: everything is hashed again
    }
    if (text.startsWith(HEADER)) {
      let pos = HEADER.length
      while (pos < text.length) {
        const nl = text.indexOf('\n', pos)
        if (nl < 0) break // a torn last line is dropped
        const tab = text.indexOf('\t', pos)
        if (tab > pos && tab < nl) rows.set(text.slice(pos, tab), text.slice(tab + 1, nl))
        pos = nl + 1
      }
    }
    return new StatCache(file, rows)
  }

  /** The oid recorded for `rel` if the file still has the stat it had then. */
  get(rel: string, st: StatLike): string | undefined {
    const v = this.rows.get(rel)
    if (v === undefined) return undefined
    const s = stamp(st)
    return v.startsWith(s) ? v.slice(s.length) : undefined
  }

  set(rel: string, st: StatLike, oid: string): void {
    if (/[\t\n]/.test(rel)) return // such names are rare; they are simply rehashed
    const v = stamp(st) + oid
    if (this.rows.get(rel) === v) return
    this.rows.set(rel, v)
    this.dirty = true
  }

  /** Forget every row naming one of these oids (their objects were deleted). */
  dropOids(oids: Set<string>): void {
    for (const [k, v] of this.rows) {
      if (oids.has(v.slice(v.lastIndexOf('\t') + 1))) {
        this.rows.delete(k)
        this.dirty = true
      }
    }
  }

  delete(rel: string): void {
    if (this.rows.delete(rel)) this.dirty = true
  }

  /** Write the file if anything changed. */
  save(): void {
    if (!this.dirty) return
    const parts = [HEADER]
    for (const [k, v] of this.rows) parts.push(k, '\t', v, '\n')
    writeFileAtomic(this.file, parts.join(''))
    this.dirty = false
  }
}
