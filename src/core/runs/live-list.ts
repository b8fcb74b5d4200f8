/**
 * Live runs as `xp show` lists them: status `running`, params typed as they will be
 * recorded, metrics at their highest step so far, duration up to now.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import type { Flat } from '../params.js'
import { inScope, type ListedRun, type ListScope } from './list.js'
import { LiveStore, type LiveRun } from './live.js'
import { finalMetrics, typeParam } from './live-record.js'
import { listXpLiveRuns } from './live-run.js'

/** Was the run recorded already (a live file left over by a crash between ref and cleanup)? */
function hasRef(commonDir: string | undefined, id: string): boolean {
  if (!commonDir) return false
  if (fs.existsSync(path.join(commonDir, 'refs', 'xp', 'runs', id))) return true
  try {
    return fs.readFileSync(path.join(commonDir, 'packed-refs'), 'latin1').includes(` refs/xp/runs/${id}\n`)
  } catch {
    return false
  }
}

export function liveListed(r: LiveRun, now: Date): ListedRun {
  const params: Flat = {}
  for (const [k, v] of Object.entries(r.params)) params[k] = typeParam(v) as Flat[string]
  const source = r.tags['mlflow.source.name']
  return {
    xp: 1,
    id: r.id,
    name: r.name,
    // ended but not recorded yet (being recorded, or after a crash until the next start)
    status: r.end ? (r.end.status as ListedRun['status']) : 'running',
    exit_code: null,
    command: source ? `mlflow: ${source}` : 'mlflow',
    started: new Date(r.started).toISOString(),
    ended: r.end ? new Date(r.end.ended).toISOString() : '',
    duration_s: Math.max(0, Math.round((r.end?.ended ?? now.getTime()) - r.started) / 1000),
    baseline: null,
    branch: null,
    ...(r.project !== undefined ? { project: r.project } : {}),
    experiment: r.experiment,
    params,
    metrics: finalMetrics(r.metrics),
    tags: { ...r.tags },
    series: [],
    deps: {},
    outs: {},
    env: r.user ? { user: r.user } : {},
    commit: '',
    ref: '',
  }
}

/**
 * The live runs of the repository (or of one project: ListScope), newest first: the MLflow
 * API's, and `xp run`'s (running, or lost once its process is gone; core/runs/live-run.ts).
 * One store, `.xp/live/`, holds both.
 *
 * @example
 * const running = listLiveRuns(repo) // [{ status: 'running', … }]
 */
export function listLiveRuns(repo: Pick<Repo, 'root' | 'ctx'> & Partial<Pick<Repo, 'commonDir' | 'xpDir'>>, scope: ListScope = {}): ListedRun[] {
  const store = new LiveStore(repo.xpDir ?? path.join(repo.root, '.xp'))
  const now = repo.ctx.now()
  const mlflow = store
    .list()
    .filter((r) => !r.deleted && !hasRef(repo.commonDir, r.id) && inScope(r, scope))
    .map((r) => liveListed(r, now))
  const own = listXpLiveRuns(repo).filter((r) => inScope(r, scope))
  if (!own.length) return mlflow
  return [...mlflow, ...own].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
}
