/**
 * List runs straight from the refs: one `git for-each-ref` (docs/architecture.md#run-record: never a walk),
 * the records from the local record index or the commit messages, plus the notes when
 * `refs/notes/xp` exists. Runs stay listed whatever happened to their baseline.
 */
import type { Repo } from '../repo.js'
import { spawn } from 'node:child_process'
import { StringDecoder } from 'node:string_decoder'
import { git, gitEnv, CatFileBatch } from '../git.js'
import { XpError } from '../errors.js'
import { sortKeys, stringifyJson, parseJson } from '../json.js'
import { decodeRecord, type ListedRun } from './record.js'
import { RUNS_PREFIX, NOTES_REF, RunRef } from './ref.js'
import { projectPrefix } from '../repo.js'
import { loadIndex, saveIndex, NOT_A_RECORD, NOT_A_RECORD_ENTRY, indexEntry, entryInProject, projectBytes, type IndexEntry } from './record-index.js'

export type { ListedRun } from './record.js'

/** What listing needs of a repo; with `commonDir` the record index is used and kept, with `project` a listing can keep to it. */
export type ListRepo = Pick<Repo, 'root' | 'ctx'> & Partial<Pick<Repo, 'commonDir' | 'project'>>

/**
 * Which runs a listing holds. `project` (a project folder relative to the repository root,
 * `''` for the root project) keeps that project's runs, and the runs recorded before runs
 * had a project (nobody can tell where they were made, and a run must never vanish from
 * every listing); without it, every run of the repository is listed. Listings a person
 * reads (`xp show`, `xp diff`'s default pick, `xp plots`, `xp ui`, the MLflow API's
 * search) keep to the current project; whatever must see every run (gc, push, pull,
 * fsck, resolving a name given explicitly) lists them all.
 */
export interface ListScope {
  project?: string
}

/**
 * The scope of a listing from where the command runs: the current project, or every
 * project with `allProjects` (`--all-projects`).
 *
 * @example
 * await listRuns(repo, listScope(repo, argv['all-projects'])) // repo.project is /r/a: { project: 'a' }
 */
export function listScope(repo: Pick<Repo, 'root'> & Partial<Pick<Repo, 'project'>>, allProjects = false): ListScope {
  return allProjects ? {} : { project: projectPrefix(repo) }
}

/**
 * Does a run belong in a listing of this scope: it is the scope's project's, it has no
 * project (recorded before runs had one), or the scope is every project.
 *
 * @example
 * runs.filter((r) => inScope(r, { project: 'a' }))
 */
export function inScope(run: { project?: string }, scope: ListScope): boolean {
  return scope.project === undefined || run.project === undefined || run.project === scope.project
}

/** A listed run before parsing: its record as canonical JSON bytes (keys sorted, with commit and ref). */
export interface RunEntry {
  commit: string
  ref: string
  json: Buffer
  notes?: string
}

/** The run an entry holds. */
export function entryRun(e: RunEntry, warn?: (m: string) => void): ListedRun {
  const r = parseJson(e.json.toString('utf8')) as ListedRun
  if (e.notes !== undefined) r.notes = e.notes
  // a malformed record is listed, as damaged: never a failure of the whole listing
  if (r.damaged && warn)
    warn(
      `run ${r.name} (${r.id}): its record is damaged (${r.damaged.join(', ')} of the wrong shape); listed without ${r.damaged.length === 1 ? 'it' : 'them'}`,
    )
  return r
}

/** The entry's run as canonical JSON (UTF-8), notes included: no parsing unless it has notes. */
export function entryJson(e: RunEntry): Buffer {
  return e.notes === undefined ? e.json : Buffer.from(canonicalJson(entryRun(e)))
}

/** JSON with the keys of every object sorted (arrays keep their order). */
export function canonicalJson(v: unknown): string {
  return stringifyJson(sortKeys(v))
}

/**
 * Every run in the repository (or in one project, with `project`: ListScope), newest first.
 *
 * @example
 * const runs = await listRuns(repo, { notes: true })
 */
export async function listRuns(repo: ListRepo, opts: { notes?: boolean } & ListScope = {}): Promise<ListedRun[]> {
  const runs: ListedRun[] = []
  await eachRunEntry(repo, (e) => void runs.push(entryRun(e, repo.ctx.warn)), opts)
  return runs
}

/**
 * Hand every run (of the scope's project, ListScope) to `onEntry`, newest first (git
 * sorts by ref name, and ids sort by time); returning false stops. One `git for-each-ref`
 * lists the refs; records come from the record index, and only those not in it are read
 * from git (then added to it). The project of each is in the index beside its record, so
 * keeping to one project parses nothing. Notes, when there are any, are read alongside
 * (one `git notes list`, one batch read).
 *
 * @example
 * await eachRunEntry(repo, (e) => { out.write(entryJson(e)); return --left > 0 })
 */
export async function eachRunEntry(repo: ListRepo, onEntry: (e: RunEntry) => boolean | undefined, opts: { notes?: boolean } & ListScope = {}): Promise<void> {
  // one for-each-ref lists the runs and tells whether there are notes to read at all
  const refs = await git(['for-each-ref', '--sort=-refname', '--format=%(objectname) %(refname)', RUNS_PREFIX, NOTES_REF], {
    cwd: repo.root,
    env: repo.ctx.env,
  })
  const keys: string[] = []
  let hasNotes = false
  for (const k of refs.stdout.split('\n')) {
    if (!k) continue
    const ref = k.slice(k.indexOf(' ') + 1)
    if (ref === NOTES_REF) hasNotes = true
    else if (RunRef.parse(ref)) keys.push(k)
  }
  const notesRead = hasNotes && opts.notes !== false ? readAllNotes(repo) : null
  const index = repo.commonDir ? loadIndex(repo.commonDir) : null
  const known = index?.entries ?? new Map<string, IndexEntry>()
  const missing = keys.filter((k) => !known.has(k))
  const added: Array<[string, IndexEntry]> = []
  if (missing.length) {
    for (const [k, v] of await readRecords(repo, missing, keys.length)) {
      known.set(k, v)
      added.push([k, v])
    }
  }
  if (index) saveIndex(index, added, new Set(keys))
  const notes = await notesRead
  const project = opts.project === undefined ? null : projectBytes(opts.project)
  for (const key of keys) {
    const entry = known.get(key)
    if (entry === undefined || entry.json.equals(NOT_A_RECORD)) continue
    if (project && !entryInProject(entry, project)) continue
    const sp = key.indexOf(' ')
    const commit = key.slice(0, sp)
    const e: RunEntry = { commit, ref: key.slice(sp + 1), json: entry.json }
    const note = notes?.get(commit)
    if (note !== undefined) e.notes = note
    if (onEntry(e) === false) return
  }
}

/**
 * Decode the records of these `<commit> <ref>` keys from their commit messages: most of
 * the runs (a first listing, a big pull) through one `for-each-ref` with the messages,
 * a few through `cat-file --batch`.
 */
async function readRecords(repo: ListRepo, keys: string[], total: number): Promise<Map<string, IndexEntry>> {
  const out = new Map<string, IndexEntry>()
  const add = (key: string, message: string | null) => {
    const sp = key.indexOf(' ')
    const rec = message === null ? null : (decodeRecord(message) as ListedRun | null)
    if (rec) {
      rec.commit = key.slice(0, sp)
      rec.ref = key.slice(sp + 1)
    }
    out.set(key, rec ? indexEntry(Buffer.from(canonicalJson(rec)), rec.project) : NOT_A_RECORD_ENTRY)
  }
  if (keys.length > 100 && keys.length * 2 > total) {
    const wanted = new Set(keys)
    await streamGit(['for-each-ref', '--format=%(objectname) %(refname)%00%(contents)%00', RUNS_PREFIX], repo, (head, message) => {
      const key = head.charCodeAt(0) === 10 ? head.slice(1) : head
      if (wanted.has(key)) add(key, message)
    })
    return out
  }
  const batch = new CatFileBatch({ cwd: repo.root, env: repo.ctx.env })
  try {
    const objs = await Promise.all(keys.map((k) => batch.read(k.slice(0, k.indexOf(' ')))))
    keys.forEach((k, i) => {
      const o = objs[i]
      if (!o) return // gone since the refs were listed: not known, so not cached either
      const text = o.type === 'commit' ? o.content.toString('utf8') : null
      const body = text === null ? -1 : text.indexOf('\n\n')
      add(k, text === null || body < 0 ? null : text.slice(body + 2))
    })
  } finally {
    batch.close()
  }
  return out
}

/** Run git and hand each `head\0message\0` pair to `onPair` as the output arrives (decoding overlaps git's reading). */
function streamGit(args: string[], repo: ListRepo, onPair: (head: string, message: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: repo.root, env: gitEnv(repo.ctx.env), stdio: ['ignore', 'pipe', 'pipe'] })
    const decoder = new StringDecoder('utf8')
    let pending = ''
    let head: string | null = null
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => {
      const text = pending + decoder.write(chunk)
      let pos = 0
      for (let z = text.indexOf('\0', pos); z >= 0; z = text.indexOf('\0', pos)) {
        const part = text.slice(pos, z)
        pos = z + 1
        if (head === null) head = part
        else {
          onPair(head, part)
          head = null
        }
      }
      pending = text.slice(pos)
    })
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new XpError('XP_GIT_MISSING', 'git is not installed or not on PATH', { hint: 'install git (apt-get install git)' }) : e),
    )
    child.on('close', (code) => {
      if (code === 0) return resolve()
      const msg = Buffer.concat(err).toString('utf8').trim().split('\n').pop() || `exit ${code}`
      reject(new XpError('XP_GIT_FAILED', `git ${args[0]} failed: ${msg}`, { data: { args } }))
    })
  })
}

/** note blob by annotated commit, from one `git notes list`; null when there are no notes. */
async function listNotes(repo: Pick<Repo, 'root' | 'ctx'>): Promise<Map<string, string> | null> {
  const res = await git(['notes', `--ref=${NOTES_REF}`, 'list'], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (res.code !== 0 || !res.stdout.trim()) return null
  const byCommit = new Map<string, string>()
  for (const line of res.stdout.split('\n')) {
    const [blob, commit] = line.split(' ')
    if (blob && commit) byCommit.set(commit, blob)
  }
  return byCommit
}

/** Fill `notes` from refs/notes/xp (one `git notes list` plus one batch read). */
export async function attachNotes(repo: Pick<Repo, 'root' | 'ctx'>, runs: ListedRun[]): Promise<void> {
  const notes = await readAllNotes(repo)
  if (!notes) return
  for (const r of runs) {
    const n = notes.get(r.commit)
    if (n !== undefined) r.notes = n
  }
}

/** The text of every note on refs/notes/xp by annotated commit; null when there are none. */
async function readAllNotes(repo: Pick<Repo, 'root' | 'ctx'>): Promise<Map<string, string> | null> {
  const byCommit = await listNotes(repo)
  if (!byCommit?.size) return null
  const batch = new CatFileBatch({ cwd: repo.root, env: repo.ctx.env })
  try {
    const entries = [...byCommit]
    const objs = await Promise.all(entries.map(([, blob]) => batch.read(blob)))
    const out = new Map<string, string>()
    entries.forEach(([commit], i) => {
      const o = objs[i]
      if (o) out.set(commit, o.content.toString('utf8').trim())
    })
    return out
  } finally {
    batch.close()
  }
}
