/**
 * The stat cache `.xp/state` (DESIGN 2.3): for each repo-relative path, the inode, mtime
 * and size it had when it was hashed, and the oid. A file whose stat still matches is
 * not read again, so a no-op `xp add` or `xp status` of 20,000 files costs 20,000
 * `lstat` calls. One JSON file, loaded once and written atomically when it changed:
 * losing it (or a concurrent writer's update) only costs a rehash (DESIGN 1.1).
 */
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../fsutil.js'

const VERSION = 1
type Row = [ino: number, mtimeMs: number, size: number, oid: string]

export interface StatLike {
  ino: number
  mtimeMs: number
  size: number
}

export class StatCache {
  private rows: Map<string, Row>
  private dirty = false

  private constructor(
    private readonly file: string,
    rows: Map<string, Row>,
  ) {
    this.rows = rows
  }

  /** Load `<xpDir>/state`; a missing or unreadable file is an empty cache. */
  static load(xpDir: string): StatCache {
    const file = path.join(xpDir, 'state')
    let rows = new Map<string, Row>()
    try {
      const v = JSON.parse(fs.readFileSync(file, 'utf8'))
      if (v && v.v === VERSION && v.files && typeof v.files === 'object') rows = new Map(Object.entries(v.files as Record<string, Row>))
    } catch {
      // absent or corrupt: everything is hashed again
    }
    return new StatCache(file, rows)
  }

  /** The oid recorded for `rel` if the file still has the stat it had then. */
  get(rel: string, st: StatLike): string | undefined {
    const r = this.rows.get(rel)
    if (r && r[0] === st.ino && r[1] === st.mtimeMs && r[2] === st.size) return r[3]
    return undefined
  }

  set(rel: string, st: StatLike, oid: string): void {
    const r = this.rows.get(rel)
    if (r && r[0] === st.ino && r[1] === st.mtimeMs && r[2] === st.size && r[3] === oid) return
    this.rows.set(rel, [st.ino, st.mtimeMs, st.size, oid])
    this.dirty = true
  }

  delete(rel: string): void {
    if (this.rows.delete(rel)) this.dirty = true
  }

  /** Write the file if anything changed. */
  save(): void {
    if (!this.dirty) return
    const files: Record<string, Row> = {}
    for (const [k, v] of this.rows) files[k] = v
    writeFileAtomic(this.file, JSON.stringify({ v: VERSION, files }))
    this.dirty = false
  }
}
