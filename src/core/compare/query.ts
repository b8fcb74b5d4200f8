/**
 * The repository side of `xp show` and `xp diff`: list runs from the refs (never a walk),
 * pick, narrow, filter and order them, and compare two. The deciding is done by the
 * pure modules beside this one (filter, table, diff).
 */
import type { Repo } from '../repo.js'
import { XpError, EXIT } from '../errors.js'
import { git } from '../git.js'
import { listRuns, type ListedRun } from '../runs/list.js'
import { resolveRun } from '../runs/resolve.js'
import { compileFilter } from './filter.js'
import { sortRuns, type SortOrder } from './table.js'
import { diffRuns, type RunDiff } from './diff.js'

export interface ShowQuery {
  /** run ids, prefixes or names; none means every run */
  runs?: string[]
  /** only runs whose baseline is this revision's commit */
  baseline?: string
  filter?: string
  sortBy?: string
  order?: SortOrder
  limit?: number
}

export interface ShowResult {
  runs: ListedRun[]
  /** how many runs the repository has, before any narrowing */
  total: number
}

async function revCommit(repo: Pick<Repo, 'root' | 'ctx'>, rev: string, runs: ListedRun[]): Promise<string> {
  const res = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (res.code === 0) return res.stdout.trim()
  // a baseline that is gone from every branch can still be named by a full or short sha
  if (/^[0-9a-f]{4,40}$/i.test(rev)) {
    const lower = rev.toLowerCase()
    const hit = runs.find((r) => r.baseline?.startsWith(lower))
    if (hit?.baseline) return hit.baseline
  }
  throw new XpError('XP_BAD_REVISION', `not a commit: ${JSON.stringify(rev)}`, { hint: 'give a branch, tag or commit id', data: { rev } })
}

/**
 * The runs `xp show` lists, in the order to show them. The filter is compiled before any
 * git call, so a syntax error costs nothing.
 *
 * @example
 * const { runs } = await showRuns(repo, { filter: 'metrics.acc > 0.9', sortBy: 'acc', limit: 3 })
 */
export async function showRuns(repo: Pick<Repo, 'root' | 'ctx'>, q: ShowQuery = {}): Promise<ShowResult> {
  const keep = q.filter !== undefined ? compileFilter(q.filter) : null
  const all = await listRuns(repo)
  let runs = all
  if (q.runs?.length) runs = [...new Set(q.runs.map((spec) => resolveRun(all, spec)))]
  if (q.baseline !== undefined) {
    const sha = await revCommit(repo, q.baseline, all)
    runs = runs.filter((r) => r.baseline === sha)
  }
  if (keep) runs = runs.filter(keep)
  // picked runs keep the order they were named in unless an order is asked for
  const ordered = q.runs?.length && !q.sortBy && !q.order ? (q.limit !== undefined ? runs.slice(0, q.limit) : runs) : sortRuns(runs, q, all)
  return { runs: ordered, total: all.length }
}

export interface DiffQuery {
  /** the older side; with only `a`, `a` is compared against the run before it */
  a?: string
  b?: string
  all?: boolean
  /** add `git diff --stat` between the two run commits */
  code?: boolean
}

export interface DiffResult extends RunDiff<ListedRun> {
  /** `git diff --stat a b`, with `code` */
  code?: string
}

function notEnough(message: string): XpError {
  return new XpError('XP_NOT_ENOUGH_RUNS', message, { exitCode: EXIT.domain, hint: 'record another run with `xp run`, or name two runs: `xp diff A B`' })
}

/**
 * Compare two runs. No names: the latest against the one before it; one name: that run
 * against the next older run; two: a (old) against b (new).
 *
 * @example
 * const d = await diffQuery(repo, { a: 'brisk-otter', b: 'calm-heron' })
 * d.metrics.acc.diff
 */
export async function diffQuery(repo: Pick<Repo, 'root' | 'ctx'>, q: DiffQuery = {}): Promise<DiffResult> {
  const runs = await listRuns(repo)
  let a: ListedRun
  let b: ListedRun
  if (q.a !== undefined && q.b !== undefined) {
    a = resolveRun(runs, q.a)
    b = resolveRun(runs, q.b)
  } else if (q.a !== undefined) {
    b = resolveRun(runs, q.a)
    const older = runs[runs.indexOf(b) + 1]
    if (!older) throw notEnough(`run ${b.name} (${b.id}) is the oldest run: there is no run before it to compare with`)
    a = older
  } else {
    if (runs.length < 2) throw notEnough(`xp diff needs two runs; this repository has ${runs.length}`)
    ;[b, a] = runs
  }
  const out: DiffResult = diffRuns(a, b, { all: q.all })
  if (q.code) {
    const res = await git(['diff', '--stat', '--end-of-options', a.commit, b.commit], { cwd: repo.root, env: repo.ctx.env })
    out.code = res.stdout
  }
  return out
}
