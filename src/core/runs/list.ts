/**
 * List runs straight from the refs: one `git for-each-ref` with the commit messages
 * (DESIGN 2.2: never a walk), plus the notes when `refs/notes/xp` exists. Runs stay
 * listed whatever happened to their baseline.
 */
import type { Repo } from '../repo.js'
import { git, CatFileBatch } from '../git.js'
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
  const { stdout } = await git(['for-each-ref', '--format=%(objectname) %(refname)%00%(contents)%00', RUNS_PREFIX], { cwd: repo.root, env: repo.ctx.env })
  const parts = stdout.split('\0')
  const runs: ListedRun[] = []
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const head = parts[i].replace(/^\n/, '')
    const sp = head.indexOf(' ')
    const commit = head.slice(0, sp)
    const ref = head.slice(sp + 1)
    if (!RunRef.parse(ref)) continue
    const rec = decodeRecord(parts[i + 1])
    if (!rec) continue
    runs.push({ ...rec, commit, ref })
  }
  runs.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  if (opts.notes !== false && runs.length) await attachNotes(repo, runs)
  return runs
}

/** Fill `notes` from refs/notes/xp (one `git notes list` plus one batch read). */
export async function attachNotes(repo: Pick<Repo, 'root' | 'ctx'>, runs: ListedRun[]): Promise<void> {
  const res = await git(['notes', `--ref=${NOTES_REF}`, 'list'], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (res.code !== 0 || !res.stdout.trim()) return
  const byCommit = new Map<string, string>()
  for (const line of res.stdout.split('\n')) {
    const [blob, commit] = line.split(' ')
    if (blob && commit) byCommit.set(commit, blob)
  }
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
