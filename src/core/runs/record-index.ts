/**
 * A local index of decoded run records, keyed by commit and ref (docs/architecture.md#run-record: records never
 * change, so a cache of them never goes stale; losing it loses nothing). With it, listing
 * 10,000 runs reads only the refs (`git for-each-ref` without the messages is ten times
 * faster) and the JSON text of each record, which `xp show --json` writes out unparsed.
 *
 * The file is `<git common dir>/xp/runs-v2.idx`, shared by every worktree, one line per
 * run: `<commit> <ref>\t<project>\t<JSON of the record with commit and ref, keys sorted>`,
 * or `\t\tnull` for a ref under refs/xp/runs/ that holds no record. `<project>` is the
 * record's `project` as a JSON string, or nothing when the record has none (made before
 * runs had a project): a listing of one project keeps or skips a run by comparing these
 * few bytes, without parsing its record. New lines are appended in one write; a torn or
 * foreign line is ignored (and that run read from git again), and the file is rewritten
 * without dead lines once they outnumber live ones.
 */
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../fsutil.js'

/** Bump when the text stored per record changes (decoding defaults, key order, the columns). */
const FILE = 'runs-v2.idx'
/** What the files before it were called: removed when a new index is started (a dead cache of every record). */
const OLD_FILES = ['runs-v1.idx']
const REF_AT = ' refs/xp/runs/'
/** `<40 or 64 hex> refs/xp/runs/<20>`, checked by shape (a regex costs 40 ms over 10,000 lines). */
const isKey = (k: string) => {
  const sha = k.length - REF_AT.length - 20
  return (sha === 40 || sha === 64) && k.startsWith(REF_AT, sha)
}

export function indexFile(commonDir: string): string {
  return path.join(commonDir, 'xp', FILE)
}

/** One run in the index: views into the file's bytes. */
export interface IndexEntry {
  /** the record's JSON, or `null` (NOT_A_RECORD) */
  json: Buffer
  /** the record's `project` as a JSON string (`"a/b"`, `""` for the root project); empty when the record has none */
  project: Buffer
}

export interface RecordIndex {
  file: string
  /** `<commit> <ref>` to its entry */
  entries: Map<string, IndexEntry>
  /** lines in the file, live or not */
  lines: number
  /** the file ends inside a line (a write was cut short): the next append starts a new one */
  torn: boolean
}

/** The bytes stored for a ref under refs/xp/runs/ that holds no record. */
export const NOT_A_RECORD = Buffer.from('null')
const NO_PROJECT = Buffer.alloc(0)

/**
 * The entry for a record's canonical JSON and its `project` (undefined: the record has none).
 *
 * @example
 * indexEntry(Buffer.from(canonicalJson(run)), run.project)
 */
export function indexEntry(json: Buffer, project: string | undefined): IndexEntry {
  return { json, project: projectBytes(project) }
}

/** How a project is written in the index: its JSON string; nothing for none. */
export function projectBytes(project: string | undefined): Buffer {
  return project === undefined ? NO_PROJECT : Buffer.from(JSON.stringify(project))
}

/** The entry of a ref that holds no record. */
export const NOT_A_RECORD_ENTRY: IndexEntry = { json: NOT_A_RECORD, project: NO_PROJECT }

/**
 * Does the entry's run belong in a listing of `project` (its bytes, projectBytes)? Yes when
 * it is that project's, or when its record has no project (made before runs had one: it
 * is every project's, since nobody can tell where it was made).
 */
export function entryInProject(e: IndexEntry, project: Buffer): boolean {
  return e.project.length === 0 || e.project.equals(project)
}

/**
 * Read the index; a missing or unreadable file is an empty index. The file stays one
 * Buffer (never decoded as a whole): values are views into it, so 100,000 records cost
 * their bytes once and `xp show --json` writes them without a string in between.
 */
export function loadIndex(commonDir: string): RecordIndex {
  const file = indexFile(commonDir)
  const entries = new Map<string, IndexEntry>()
  let buf: Buffer
  try {
    buf = fs.readFileSync(file)
  } catch {
    return { file, entries, lines: 0, torn: false }
  }
  let lines = 0
  let pos = 0
  while (pos < buf.length) {
    const end = buf.indexOf(10, pos)
    if (end < 0) break // a line without its newline was cut short: ignore it
    const tab = buf.indexOf(9, pos)
    // the project is a JSON string (its tabs escaped) or nothing, so the second tab ends it
    const tab2 = tab > pos && tab < end ? buf.indexOf(9, tab + 1) : -1
    if (tab2 > tab && tab2 < end - 1) {
      const key = buf.toString('latin1', pos, tab)
      const first = buf[tab2 + 1]
      const last = buf[end - 1]
      const value = buf.subarray(tab2 + 1, end)
      const project = buf.subarray(tab + 1, tab2)
      const projectOk = project.length === 0 || (project.length >= 2 && project[0] === 34 && project[project.length - 1] === 34)
      if (isKey(key) && projectOk && ((first === 123 && last === 125) || value.equals(NOT_A_RECORD))) entries.set(key, { json: value, project })
    }
    lines++
    pos = end + 1
  }
  return { file, entries, lines, torn: pos < buf.length }
}

const TAB = Buffer.from('\t')
const NL = Buffer.from('\n')
const line = (k: string, v: IndexEntry) => [Buffer.from(`${k}\t`, 'latin1'), v.project, TAB, v.json, NL]

/**
 * Add entries (one append, so concurrent writers never interleave inside a line), or
 * rewrite the file with only `live` keys when most of it is dead.
 */
export function saveIndex(index: RecordIndex, added: Array<[string, IndexEntry]>, live: Set<string>): void {
  try {
    let liveInFile = 0
    for (const k of index.entries.keys()) if (live.has(k)) liveInFile++
    const dead = index.lines - liveInFile
    if (dead > 1000 && dead > live.size) {
      const keep: Buffer[] = []
      for (const k of live) {
        const v = index.entries.get(k)
        if (v !== undefined) keep.push(...line(k, v))
      }
      for (const [k, v] of added) keep.push(...line(k, v))
      writeFileAtomic(index.file, Buffer.concat(keep))
      return
    }
    if (!added.length) return
    fs.mkdirSync(path.dirname(index.file), { recursive: true })
    if (index.lines === 0) removeOldFiles(index.file)
    fs.appendFileSync(index.file, Buffer.concat([...(index.torn ? [Buffer.from('\n')] : []), ...added.flatMap(([k, v]) => line(k, v))]))
  } catch {
    // a cache that cannot be written (read-only repo, full disk) only costs speed
  }
}

/**
 * Add records this process has just written (the MLflow API's runs), so the next listing
 * reads them from here instead of from git. One append, like any other.
 *
 * @example
 * addToIndex(repo.commonDir, [[`${commit} ${ref}`, indexEntry(Buffer.from(canonicalJson({ ...record, commit, ref })), record.project)]])
 */
export function addToIndex(commonDir: string, added: Array<[string, IndexEntry]>): void {
  // only the file's last byte is read (a torn last line gets its newline first), not the
  // whole index: with 2,000 runs loading it cost each `xp run` 5 ms more. Dead lines are
  // dropped by the next listing's saveIndex, which knows which refs are live.
  const file = indexFile(commonDir)
  appendLines(file, Buffer.concat(added.flatMap(([k, v]) => line(k, v))), () => removeOldFiles(file))
}

/**
 * Append whole lines to a cache file, reading only its last byte: a torn last line (a
 * write cut short) gets its newline first. `onNew` runs when there is no file yet.
 */
function appendLines(file: string, lines: Buffer, onNew?: () => void): void {
  try {
    let torn = false
    try {
      const fd = fs.openSync(file, 'r')
      try {
        const size = fs.fstatSync(fd).size
        const last = Buffer.alloc(1)
        torn = size > 0 && fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 10
      } finally {
        fs.closeSync(fd)
      }
    } catch {
      onNew?.()
    }
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.appendFileSync(file, torn ? Buffer.concat([NL, lines]) : lines)
  } catch {
    // a cache that cannot be written (read-only repo, full disk) only costs speed
  }
}

/** An index in an older format is a copy of every record nothing reads any more. */
function removeOldFiles(file: string): void {
  for (const old of OLD_FILES) fs.rmSync(path.join(path.dirname(file), old), { force: true })
}

/**
 * The top-level `name` of a record's JSON in the index, found by one scan of its bytes that
 * tracks nesting and strings, not by JSON.parse of the whole record: `xp run` reads every
 * run's name (to refuse a taken one and draw a free one), and parsing 2,000 records cost
 * it ~14 ms. Undefined when the record has no string `name` at its top level.
 *
 * @example
 * recordNameOf(Buffer.from('{"id":"01h…","metrics":{"name":1},"name":"lr-0.1"}')) // 'lr-0.1'
 */
export function recordNameOf(json: Buffer): string | undefined {
  let depth = 0
  const n = json.length
  for (let i = 0; i < n; i++) {
    const c = json[i]
    if (c === 34) {
      const start = i
      for (i++; i < n && json[i] !== 34; i++) if (json[i] === 92) i++
      // `"name":` at the top level is its key (a value is never followed by a colon)
      if (depth === 1 && i - start === 5 && json[i + 1] === 58 && json.toString('latin1', start + 1, i) === 'name') {
        const v = i + 2
        if (json[v] !== 34) return undefined
        let e = v + 1
        for (; e < n && json[e] !== 34; e++) if (json[e] === 92) e++
        try {
          return JSON.parse(json.toString('utf8', v, e + 1)) as string
        } catch {
          return undefined
        }
      }
    } else if (c === 123 || c === 91) depth++
    else if (c === 125 || c === 93) depth--
  }
  return undefined
}

/**
 * The run names by ref, beside the index: `<git common dir>/xp/run-names`, a line
 * `<ref>\t<name>\t` per run (`<ref>\t\t` for a ref that holds no record; the last tab
 * tells a whole line from one cut short). `xp run` needs every
 * name taken to pick a new one; from here that is one small file and the refs folder's
 * listing, where it was every ref file read and every record in the index scanned (20 ms
 * with 2,000 runs). Appended like the index (a torn last line is ignored); rewritten with
 * the live refs alone once dead lines outnumber them. A cache: a missing or unreadable file
 * only costs the slower way.
 */
export interface RunNames {
  file: string
  /** ref to name ('' for none) */
  names: Map<string, string>
  /** lines in the file, live or not */
  lines: number
}

const NAMES_FILE = 'run-names'

export function loadRunNames(commonDir: string): RunNames {
  const file = path.join(commonDir, 'xp', NAMES_FILE)
  const names = new Map<string, string>()
  let text = ''
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    // none yet
  }
  let lines = 0
  let pos = 0
  while (pos < text.length) {
    const end = text.indexOf('\n', pos)
    if (end < 0) break // cut short: ignored
    const tab = text.indexOf('\t', pos)
    // `<ref>\t<name>\t`: a line cut short before its last tab is no line (its newline may come
    // from the next append)
    if (tab > pos && tab < end - 1 && text.charCodeAt(end - 1) === 9 && text.startsWith(REF_AT.slice(1), pos))
      names.set(text.slice(pos, tab), text.slice(tab + 1, end - 1))
    lines++
    pos = end + 1
  }
  return { file, names, lines }
}

/**
 * Add names (one append), or rewrite the file with the `live` refs alone when most of its
 * lines are dead. A name that could break a line is kept as none (xp's own names cannot).
 */
export function saveRunNames(known: RunNames, added: Array<[string, string]>, live?: Set<string>): void {
  try {
    for (const [ref, name] of added) known.names.set(ref, name)
    if (live && known.lines + added.length > 2 * live.size + 64) {
      const keep = [...known.names].filter(([ref]) => live.has(ref))
      writeFileAtomic(known.file, keep.map(nameLine).join(''))
      return
    }
    if (added.length) appendLines(known.file, Buffer.from(added.map(nameLine).join('')))
  } catch {
    // a cache that cannot be written only costs speed
  }
}

/** Write run-names whole: every run's name, as git listed them (a run's commit subject names it). */
export function writeRunNames(commonDir: string, entries: Array<[string, string]>): void {
  try {
    fs.mkdirSync(path.join(commonDir, 'xp'), { recursive: true })
    writeFileAtomic(path.join(commonDir, 'xp', NAMES_FILE), entries.map(nameLine).join(''))
  } catch {
    // a cache that cannot be written only costs speed
  }
}

/** Add a new run's name to run-names, reading only the file's last byte (as addToIndex). */
export function appendRunName(commonDir: string, ref: string, name: string): void {
  appendLines(path.join(commonDir, 'xp', NAMES_FILE), Buffer.from(nameLine([ref, name])))
}

const nameLine = ([ref, name]: [string, string]) => `${ref}\t${/^[^\t\n\r]*$/.test(name) ? name : ''}\t\n`
