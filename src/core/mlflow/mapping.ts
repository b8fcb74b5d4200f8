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
import { metricNumber, paramText, type SearchRun } from './search.js'

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

/** A run as the API sees it: recorded runs are views over their listed record (no copies). */
export interface RunView extends SearchRun {
  live: LiveRun | null
  recorded: ListedRun | null
  experiment: string
}

const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>

export function liveView(r: LiveRun, lifecycle: string): RunView {
  const metrics: Record<string, number> = {}
  for (const m of latestMetrics(r)) metrics[m.key] = m.value
  const expId = experimentId(r.experiment)
  return {
    run_id: r.id,
    run_name: r.tags[RUN_NAME_TAG] ?? r.name,
    status: r.end ? mlflowStatus(r.end.status) : 'RUNNING',
    user_id: r.user,
    start_time: r.started,
    end_time: r.end?.ended ?? null,
    artifact_uri: artifactUri(expId, r.id),
    lifecycle_stage: r.deleted ? 'deleted' : lifecycle,
    experiment_id: expId,
    experiment: r.experiment,
    params: r.params,
    metrics,
    tags: r.tags,
    live: r,
    recorded: null,
  }
}

/** The latest point of each metric of a live run: highest step, then latest timestamp. */
function latestMetrics(r: LiveRun): Array<{ key: string; value: number; timestamp: number; step: number }> {
  const out = []
  for (const [key, pts] of Object.entries(r.metrics)) {
    let best = pts[0]
    for (const p of pts) if (p[0] > best[0] || (p[0] === best[0] && p[2] >= best[2])) best = p
    out.push({ key, value: best[1], timestamp: best[2], step: best[0] })
  }
  return out
}

export function recordedView(r: ListedRun, lifecycle: string): RunView {
  const experiment = r.experiment ?? DEFAULT_EXPERIMENT
  const expId = experimentId(experiment)
  const end = Date.parse(r.ended)
  return {
    run_id: r.id,
    run_name: r.tags?.[RUN_NAME_TAG] ?? r.name,
    status: mlflowStatus(r.status),
    user_id: typeof r.env?.user === 'string' ? r.env.user : '',
    start_time: Date.parse(r.started),
    end_time: Number.isFinite(end) ? end : null,
    artifact_uri: artifactUri(expId, r.id),
    lifecycle_stage: lifecycle,
    experiment_id: expId,
    experiment,
    params: r.params,
    metrics: r.metrics,
    tags: r.tags ?? EMPTY,
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
  let latest: Array<{ key: string; value: number; timestamp: number; step: number }>
  if (v.live) latest = latestMetrics(v.live)
  else {
    // a record keeps the final value of each metric; its step and time are the run's end
    latest = []
    for (const [key, x] of Object.entries(v.metrics)) {
      const n = metricNumber(x)
      if (n !== undefined) latest.push({ key, value: n, timestamp: v.end_time ?? v.start_time, step: 0 })
    }
  }
  if (latest.length) data.metrics = latest.map((m) => ({ key: m.key, value: numJson(m.value), timestamp: m.timestamp, step: m.step }))
  const params = Object.entries(v.params)
  if (params.length) data.params = params.map(([key, value]) => ({ key, value: paramText(value) }))
  const tags = Object.entries(v.tags)
  if (tags.length) data.tags = tags.map(([key, value]) => ({ key, value }))
  const out: Record<string, unknown> = { info: runInfo(v), data }
  const inputs = v.live?.extra.filter((x) => x.kind === 'inputs').flatMap((x) => (x.datasets as unknown[]) ?? [])
  out.inputs = inputs?.length ? { dataset_inputs: inputs } : {}
  return out
}

export { finalMetrics }
