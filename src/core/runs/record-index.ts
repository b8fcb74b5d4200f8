/**
 * A local index of decoded run records, keyed by commit and ref (DESIGN 2.2: records never
 * change, so a cache of them never goes stale; losing it loses nothing). With it, listing
 * 10,000 runs reads only the refs (`git for-each-ref` without the messages is ten times
 * faster) and the JSON text of each record, which `xp show --json` writes out unparsed.
 *
 * The file is `<git common dir>/xp/runs-v1.idx`, shared by every worktree, one line per
 * run: `<commit> <ref>\t<JSON of the record with commit and ref, keys sorted>`, or `\tnull`
 * for a ref under refs/xp/runs/ that holds no record. New lines are appended in one write;
 * a torn or foreign line is ignored (and that run read from git again), and the file is
 * rewritten without dead lines once they outnumber live ones.
 */
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../fsutil.js'

/** Bump when the text stored per record changes (decoding defaults, key order). */
const FILE = 'runs-v1.idx'
const REF_AT = ' refs/xp/runs/'
/** `<40 or 64 hex> refs/xp/runs/<20>`, checked by shape (a regex costs 40 ms over 10,000 lines). */
const isKey = (k: string) => {
  const sha = k.length - REF_AT.length - 20
  return (sha === 40 || sha === 64) && k.startsWith(REF_AT, sha)
}

export function indexFile(commonDir: string): string {
  return path.join(commonDir, 'xp', FILE)
}

export interface RecordIndex {
  file: string
  /** `<commit> <ref>` to the record's JSON text, or 'null' */
  entries: Map<string, string>
  /** lines in the file, live or not */
  lines: number
}

/** Read the index; a missing or unreadable file is an empty index. */
export function loadIndex(commonDir: string): RecordIndex {
  const file = indexFile(commonDir)
  const entries = new Map<string, string>()
  let text = ''
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return { file, entries, lines: 0 }
  }
  let lines = 0
  let pos = 0
  while (pos < text.length) {
    let end = text.indexOf('\n', pos)
    if (end < 0) break // a line without its newline was cut short: ignore it
    const tab = text.indexOf('\t', pos)
    if (tab > pos && tab < end) {
      const key = text.slice(pos, tab)
      const value = text.slice(tab + 1, end)
      if (isKey(key) && ((value.charCodeAt(0) === 123 && value.charCodeAt(value.length - 1) === 125) || value === 'null')) entries.set(key, value)
    }
    lines++
    pos = end + 1
  }
  return { file, entries, lines }
}

/**
 * Add entries (one append, so concurrent writers never interleave inside a line), or
 * rewrite the file with only `live` keys when most of it is dead.
 */
export function saveIndex(index: RecordIndex, added: Array<[string, string]>, live: Set<string>): void {
  try {
    const dead = index.lines - [...index.entries.keys()].filter((k) => live.has(k)).length
    if (dead > 1000 && dead > live.size) {
      const keep: string[] = []
      for (const k of live) {
        const v = index.entries.get(k)
        if (v !== undefined) keep.push(`${k}\t${v}\n`)
      }
      for (const [k, v] of added) keep.push(`${k}\t${v}\n`)
      writeFileAtomic(index.file, keep.join(''))
      return
    }
    if (!added.length) return
    fs.mkdirSync(path.dirname(index.file), { recursive: true })
    fs.appendFileSync(index.file, added.map(([k, v]) => `${k}\t${v}\n`).join(''))
  } catch {
    // a cache that cannot be written (read-only repo, full disk) only costs speed
  }
}
