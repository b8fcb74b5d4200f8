/**
 * The repository side of `xp show` and `xp diff`: list runs from the refs (never a walk),
 * pick, narrow, filter and order them, and compare two. The deciding is done by the
 * pure modules beside this one (filter, table, diff).
 */
import { XpError } from '../errors.js'
import { git } from '../git.js'
import { canonicalJson, eachRunEntry, entryJson, entryRun, inScope, listRuns, listScope, type ListRepo, type ListedRun } from '../runs/list.js'
import { resolveRun } from '../runs/resolve.js'
import { compileFilter } from './filter.js'
import { sortRuns, type SortOrder } from './table.js'
import { diffRuns, diffEnv, type RunDiff, type EnvDiff } from './diff.js'
import { PACKAGES_IN_TREE, parsePackagesText } from '../runs/python-env.js'
import { listLiveRuns } from '../runs/live-list.js'

export interface ShowQuery {
  /** run ids, prefixes or names, of any project; none means every run of the current project */
  runs?: string[]
  /** list every project's runs, not only the current project's (`--all-projects`) */
  allProjects?: boolean
  /** only runs whose baseline is this revision's commit */
  baseline?: string
  /** one expression, or several that must all hold (`--filter` given more than once) */
  filter?: string | string[]
  sortBy?: string
  order?: SortOrder
  limit?: number
}

export interface ShowResult {
  runs: ListedRun[]
  /** how many runs were looked at: all of the project's (or of every project), unless -n stopped the listing early */
  total: number
}

/**
 * Which baselines `--baseline REV` means: the commit REV names, or, when no ref reaches it
 * any more (its branch was deleted), the runs' baselines that start with REV as hex.
 */
async function baselineMatcher(repo: ListRepo, rev: string): Promise<(baseline: string | null) => boolean> {
  const res = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (res.code === 0) {
    const sha = res.stdout.trim()
    return (b) => b === sha
  }
  if (/^[0-9a-f]{4,40}$/i.test(rev)) {
    const lower = rev.toLowerCase()
    return (b) => b?.startsWith(lower) === true
  }
  throw new XpError('XP_BAD_REVISION', `not a commit: ${JSON.stringify(rev)}`, { hint: 'give a branch, tag or commit id', data: { rev } })
}

/** One run to show: parsed or as canonical JSON text, each only when asked for. */
interface Shown {
  run: () => ListedRun
  json: () => Buffer
}

/**
 * Hand the runs `xp show` lists to `onShown`, in the order to show them. In the default
 * order (newest first) nothing is sorted, a record is parsed only when a filter or
 * `--baseline` needs it, and `-n` stops early; picking runs by name or sorting lists them
 * all first. The filter is compiled before any git call, so a syntax error costs nothing.
 * The runs listed are the current project's (and those without a project), unless
 * `allProjects`; a run picked by name may be any project's (names are the repository's).
 */
async function eachShown(repo: ListRepo, q: ShowQuery, onShown: (s: Shown) => void): Promise<{ total: number }> {
  const filters = (q.filter === undefined ? [] : Array.isArray(q.filter) ? q.filter : [q.filter]).map((f) => compileFilter(String(f)))
  const keep = filters.length ? (r: ListedRun) => filters.every((f) => f(r)) : null
  const onBaseline = q.baseline !== undefined ? await baselineMatcher(repo, q.baseline) : null
  const wanted = (r: ListedRun) => (!onBaseline || onBaseline(r.baseline)) && (!keep || keep(r))
  const limit = q.limit !== undefined && q.limit >= 0 ? q.limit : Infinity
  const scope = listScope(repo, q.allProjects)
  let total = 0
  // live runs (the MLflow API's and `xp run`'s, still going or lost) are listed first
  const live = listLiveRuns(repo)
  if (!q.runs?.length && !q.sortBy && q.order !== 'asc') {
    if (limit === 0) return { total }
    let shown = 0
    for (const r of live) {
      if (!inScope(r, scope)) continue
      total++
      if (!wanted(r)) continue
      onShown({ run: () => r, json: () => Buffer.from(canonicalJson(r)) })
      if (++shown >= limit) return { total }
    }
    await eachRunEntry(
      repo,
      (e) => {
        total++
        let parsed: ListedRun | undefined
        const run = () => (parsed ??= entryRun(e, repo.ctx.warn))
        if ((keep || onBaseline) && !wanted(run())) return true
        onShown({ run, json: () => entryJson(e) })
        return ++shown < limit
      },
      scope,
    )
    return { total }
  }
  const all = [...live, ...(await listRuns(repo, q.runs?.length ? {} : scope))]
  const listed = q.runs?.length ? all : all.filter((r) => inScope(r, scope))
  total = listed.length
  let runs = q.runs?.length ? [...new Set(q.runs.map((spec) => resolveRun(all, spec)))] : listed
  runs = runs.filter(wanted)
  // picked runs keep the order they were named in unless an order is asked for
  const ordered = q.runs?.length && !q.sortBy && !q.order ? runs.slice(0, limit) : sortRuns(runs, q, listed)
  for (const r of ordered) onShown({ run: () => r, json: () => Buffer.from(canonicalJson(r)) })
  return { total }
}

/**
 * The runs `xp show` lists, as canonical JSON (UTF-8 bytes, keys sorted), to `onJson` one
 * by one: 10,000 runs go out without being parsed, decoded or built into one document.
 *
 * @example
 * await eachShownJson(repo, { limit: 5 }, (bytes) => out.write(bytes))
 */
export async function eachShownJson(repo: ListRepo, q: ShowQuery, onJson: (json: Buffer) => void): Promise<void> {
  await eachShown(repo, q, (s) => onJson(s.json()))
}

/**
 * The runs `xp show` lists, in the order to show them, and how many runs were looked at.
 *
 * @example
 * const { runs } = await showRuns(repo, { filter: 'metrics.acc > 0.9', sortBy: 'acc', limit: 3 })
 */
export async function showRuns(repo: ListRepo, q: ShowQuery = {}): Promise<ShowResult> {
  const runs: ListedRun[] = []
  const { total } = await eachShown(repo, q, (s) => void runs.push(s.run()))
  return { runs, total }
}

export interface DiffQuery {
  /** the older side; with only `a`, `a` is compared against the run before it (in its project) */
  a?: string
  b?: string
  /** with no names, pick the two latest runs of every project, not of the current one (`--all-projects`) */
  allProjects?: boolean
  all?: boolean
  /** add `git diff --stat` between the two run commits */
  code?: boolean
  /** add what changed in the environment: recorded facts, variables, Python packages */
  env?: boolean
}

export interface DiffResult extends RunDiff<ListedRun> {
  /** `git diff --stat a b`, with `code` */
  code?: string
  /** with `env` */
  env?: EnvDiff
}

/** The Python packages a run recorded (`.xp-run/packages.txt` in its tree), or null. */
export async function runPackages(repo: ListRepo, run: Pick<ListedRun, 'commit'>): Promise<Record<string, string> | null> {
  if (!run.commit) return null
  const res = await git(['cat-file', 'blob', `${run.commit}:${PACKAGES_IN_TREE}`], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  return res.code === 0 ? parsePackagesText(res.stdout) : null
}

/** A project as messages name it. */
function projectName(project: string): string {
  return project ? `project ${project}/` : 'the root project'
}

function notEnough(message: string): XpError {
  return new XpError('XP_NOT_ENOUGH_RUNS', message, { hint: 'record another run with `xp run`, or name two runs: `xp diff A B`' })
}

/**
 * Compare two runs. No names: the latest run of the current project against the one
 * before it; one name: that run against the next older run of its project; two: a (old)
 * against b (new). Names resolve across the repository, whatever project made the run.
 *
 * @example
 * const d = await diffQuery(repo, { a: 'brisk-otter', b: 'calm-heron' })
 * d.metrics.acc.diff
 */
export async function diffQuery(repo: ListRepo, q: DiffQuery = {}): Promise<DiffResult> {
  const all = await listRuns(repo)
  const scope = listScope(repo, q.allProjects)
  // a run named here may still be live (xp show lists it, so it can be compared); with no
  // names, the two latest recorded runs are compared
  const named = [...listLiveRuns(repo), ...all]
  let a: ListedRun
  let b: ListedRun
  if (q.a !== undefined && q.b !== undefined) {
    a = resolveRun(named, q.a)
    b = resolveRun(named, q.b)
  } else if (q.a !== undefined) {
    b = resolveRun(named, q.a)
    // the run before it in its own project (a run without a project: in the current one)
    const own = q.allProjects || b.project === undefined ? scope : { project: b.project }
    const older = named.slice(named.indexOf(b) + 1).find((r) => inScope(r, own))
    if (!older)
      throw notEnough(
        `run ${b.name} (${b.id}) is the oldest run${own.project === undefined ? '' : ` of ${projectName(own.project)}`}: there is no run before it to compare with`,
      )
    a = older
  } else {
    const runs = all.filter((r) => inScope(r, scope))
    if (runs.length < 2)
      throw notEnough(`xp diff needs two runs; ${scope.project === undefined ? 'this repository' : projectName(scope.project)} has ${runs.length}`)
    ;[b, a] = runs
  }
  const out: DiffResult = diffRuns(a, b, { all: q.all })
  if (q.code && a.commit && b.commit) {
    const res = await git(['diff', '--stat', '--end-of-options', a.commit, b.commit], { cwd: repo.root, env: repo.ctx.env })
    out.code = res.stdout
  }
  if (q.env) {
    const [pa, pb] = await Promise.all([runPackages(repo, a), runPackages(repo, b)])
    out.env = diffEnv(a.env as Record<string, unknown>, b.env as Record<string, unknown>, pa, pb, { all: q.all })
  }
  return out
}
