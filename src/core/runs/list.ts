/**
 * List runs straight from the refs: one `git for-each-ref` with the commit messages
 * (DESIGN 2.2: never a walk), plus the notes when `refs/notes/xp` exists. Runs stay
 * listed whatever happened to their baseline.
 */
import type { Repo } from '../repo.js'
import { spawn } from 'node:child_process'
import { StringDecoder } from 'node:string_decoder'
import { git, gitEnv, CatFileBatch } from '../git.js'
import { XpError } from '../errors.js'
import { decodeRecord, type RunRecord } from './record.js'
import { RUNS_PREFIX, NOTES_REF, RunRef } from './ref.js'

export interface ListedRun extends RunRecord {
  commit: string
  ref: string
  notes?: string
}

/**
 * Every run in the repository, newest first.
 *
 * @example
 * const runs = await listRuns(repo, { notes: true })
 */
export async function listRuns(repo: Pick<Repo, 'root' | 'ctx'>, opts: { notes?: boolean } = {}): Promise<ListedRun[]> {
  // git sorts newest first (ids sort by time), and records are decoded while git is still
  // writing: on two cores the decoding hides behind git's own work. The notes list is
  // read at the same time.
  const notesList = opts.notes !== false ? listNotes(repo) : Promise.resolve(null)
  const runs: ListedRun[] = []
  await streamGit(['for-each-ref', '--sort=-refname', '--format=%(objectname) %(refname)%00%(contents)%00', RUNS_PREFIX], repo, (head, message) => {
    const nl = head.charCodeAt(0) === 10 ? 1 : 0
    const sp = head.indexOf(' ', nl)
    const commit = head.slice(nl, sp)
    const ref = head.slice(sp + 1)
    if (!RunRef.parse(ref)) return
    const rec = decodeRecord(message) as ListedRun | null
    if (!rec) return
    rec.commit = commit
    rec.ref = ref
    runs.push(rec)
  })
  const byCommit = await notesList
  if (byCommit?.size && runs.length) await readNotes(repo, runs, byCommit)
  return runs
}

/** Run git and hand each `head\0message\0` pair to `onPair` as the output arrives. */
function streamGit(args: string[], repo: Pick<Repo, 'root' | 'ctx'>, onPair: (head: string, message: string) => void): Promise<void> {
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
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new XpError('XP_GIT_MISSING', 'git is not installed or not on PATH', { hint: 'install git (apt-get install git)' }) : e))
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
  const byCommit = await listNotes(repo)
  if (byCommit) await readNotes(repo, runs, byCommit)
}

async function readNotes(repo: Pick<Repo, 'root' | 'ctx'>, runs: ListedRun[], byCommit: Map<string, string>): Promise<void> {
  const wanted = runs.filter((r) => byCommit.has(r.commit))
  if (!wanted.length) return
  const batch = new CatFileBatch({ cwd: repo.root, env: repo.ctx.env })
  try {
    const objs = await Promise.all(wanted.map((r) => batch.read(byCommit.get(r.commit)!)))
    wanted.forEach((r, i) => {
      const o = objs[i]
      if (o) r.notes = o.content.toString('utf8').trim()
    })
  } finally {
    batch.close()
  }
}
