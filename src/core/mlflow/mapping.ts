/**
 * One view of a run for MLflow clients, whether it is live (core/runs/live.ts) or
 * recorded (a run commit, including runs `xp run` made): MLflow's RunInfo and RunData
 * shapes, statuses and the artifact URI.
 */
import type { ListedRun } from '../runs/list.js'
import type { LiveRun } from '../runs/live.js'
import type { RunStatus } from '../runs/record.js'
import { finalMetrics } from '../runs/live-record.js'
import { DEFAULT_EXPERIMENT, experimentId } from './experiments.js'
import type { SearchRun } from './search.js'

export const RUN_NAME_TAG = 'mlflow.runName'
export const GIT_COMMIT_TAG = 'mlflow.source.git.commit'

const TO_MLFLOW: Record<string, string> = { running: 'RUNNING', succeeded: 'FINISHED', failed: 'FAILED', interrupted: 'KILLED' }
const FROM_MLFLOW: Record<string, RunStatus> = { FINISHED: 'succeeded', FAILED: 'failed', KILLED: 'interrupted' }

export function mlflowStatus(s: string): string {
  return TO_MLFLOW[s] ?? 'FINISHED'
}

/** xp's status for an MLflow terminal status; null for RUNNING/SCHEDULED (not an end). */
export function xpStatus(s: string): RunStatus | null {
  return FROM_MLFLOW[s] ?? null
}

export function artifactUri(expId: string, runId: string): string {
  return `mlflow-artifacts:/${expId}/${runId}/artifacts`
}

/** A run as the API sees it; `metrics` hold the latest value per key (for search), `points` the full latest entries. */
export interface RunView extends SearchRun {
  live: LiveRun | null
  recorded: ListedRun | null
  latest: Array<{ key: string; value: number; timestamp: number; step: number }>
  experiment: string
}

const paramText = (v: unknown): string => (typeof v === 'string' ? v : v === null ? 'None' : typeof v === 'object' ? JSON.stringify(v) : String(v))

export function liveView(r: LiveRun, lifecycle: string): RunView {
  const latest: RunView['latest'] = []
  const metrics: Record<string, number> = {}
  for (const [key, pts] of Object.entries(r.metrics)) {
    let best = pts[0]
    for (const p of pts) if (p[0] > best[0] || (p[0] === best[0] && p[2] >= best[2])) best = p
    latest.push({ key, value: best[1], timestamp: best[2], step: best[0] })
    metrics[key] = best[1]
  }
  const expId = experimentId(r.experiment)
  return {
    run_id: r.id,
    run_name: r.tags[RUN_NAME_TAG] ?? r.name,
    status: r.end ? mlflowStatus(xpStatus(r.end.status) ?? 'succeeded') : 'RUNNING',
    user_id: r.user,
    start_time: r.started,
    end_time: r.end?.ended ?? null,
    artifact_uri: artifactUri(expId, r.id),
    lifecycle_stage: r.deleted ? 'deleted' : lifecycle,
    experiment_id: expId,
    experiment: r.experiment,
    params: { ...r.params },
    metrics,
    tags: { ...r.tags },
    latest,
    live: r,
    recorded: null,
  }
}

export function recordedView(r: ListedRun, lifecycle: string): RunView {
  const experiment = r.experiment ?? DEFAULT_EXPERIMENT
  const expId = experimentId(experiment)
  const end = Date.parse(r.ended)
  const metrics: Record<string, number> = {}
  const latest: RunView['latest'] = []
  for (const [key, v] of Object.entries(r.metrics)) {
    const n = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : typeof v === 'string' ? Number(v) : NaN
    if (typeof v !== 'number' && !/^(nan|-?inf(inity)?)$/i.test(String(v))) continue // MLflow metrics are numbers
    metrics[key] = n
    latest.push({ key, value: n, timestamp: Number.isFinite(end) ? end : 0, step: 0 })
  }
  const params: Record<string, string> = {}
  for (const [k, v] of Object.entries(r.params)) params[k] = paramText(v)
  const tags = { ...(r.tags ?? {}) }
  return {
    run_id: r.id,
    run_name: tags[RUN_NAME_TAG] ?? r.name,
    status: mlflowStatus(r.status),
    user_id: typeof r.env?.user === 'string' ? r.env.user : '',
    start_time: Date.parse(r.started),
    end_time: Number.isFinite(end) ? end : null,
    artifact_uri: artifactUri(expId, r.id),
    lifecycle_stage: lifecycle,
    experiment_id: expId,
    experiment,
    params,
    metrics,
    tags,
    latest,
    live: null,
    recorded: r,
  }
}

/** MLflow's RunInfo. */
export function runInfo(v: RunView): Record<string, unknown> {
  const info: Record<string, unknown> = {
    run_id: v.run_id,
    run_uuid: v.run_id,
    run_name: v.run_name,
    experiment_id: v.experiment_id,
    user_id: v.user_id,
    status: v.status,
    start_time: v.start_time,
    artifact_uri: v.artifact_uri,
    lifecycle_stage: v.lifecycle_stage,
  }
  if (v.end_time !== null) info.end_time = v.end_time
  return info
}

const numJson = (n: number): number | string => (Number.isFinite(n) ? n : Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity')

/** MLflow's Run: info and data (latest metrics, params, tags as key/value lists). */
export function runJson(v: RunView): Record<string, unknown> {
  const data: Record<string, unknown> = {}
  if (v.latest.length) data.metrics = v.latest.map((m) => ({ key: m.key, value: numJson(m.value), timestamp: m.timestamp, step: m.step }))
  const params = Object.entries(v.params)
  if (params.length) data.params = params.map(([key, value]) => ({ key, value }))
  const tags = Object.entries(v.tags)
  if (tags.length) data.tags = tags.map(([key, value]) => ({ key, value }))
  const out: Record<string, unknown> = { info: runInfo(v), data }
  const inputs = v.live?.extra.filter((x) => x.kind === 'inputs').flatMap((x) => (x.datasets as unknown[]) ?? [])
  out.inputs = inputs?.length ? { dataset_inputs: inputs } : {}
  return out
}

export { finalMetrics }
