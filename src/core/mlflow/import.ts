/**
 * `xp import mlflow PATH`: an MLflow file store (`mlruns/`, what
 * `mlflow.set_tracking_uri("file:...")` writes) into xp runs. Each MLflow run becomes a
 * run commit exactly as if it had been logged through `xp ui` (core/runs/live-record.ts):
 * params, final metrics, every metric's history as series, tags, the experiment's name,
 * artifacts into the cache. The xp id is derived from the MLflow run id and start time,
 * so importing twice adds nothing. The MLflow run id is kept in the tag
 * `mlflow.xp.sourceRunId`. Deleted runs (lifecycle `deleted`) are left out; the file
 * store's model registry (mlruns/models) is not imported.
 */
import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { projectPrefix, type Repo } from '../repo.js'
import { git } from '../git.js'
import { XpError } from '../errors.js'
import { parseStructured } from '../params.js'
import { putFile } from '../cache/objects.js'
import { safeRelPath } from '../cache/manifest.js'
import { newRunId, RunRef, RUNS_PREFIX } from '../runs/ref.js'
import type { LiveRun, Point } from '../runs/live.js'
import { recordLiveRun } from '../runs/live-record.js'
import type { RunStatus } from '../runs/record.js'
import { ExperimentStore, DEFAULT_EXPERIMENT } from './experiments.js'
import { xpName } from './service.js'
import { GIT_COMMIT_TAG, RUN_NAME_TAG } from './mapping.js'

export const SOURCE_RUN_TAG = 'mlflow.xp.sourceRunId'

export interface ImportResult {
  /** runs recorded now */
  imported: Array<{ id: string; name: string; experiment: string; mlflow_run_id: string }>
  /** runs already imported before */
  skipped: number
  /** runs left out (deleted in MLflow) */
  deleted: number
  experiments: string[]
}

/** MLflow's RunStatus as the file store writes it: a number (proto enum) or its name. */
const STATUS: Record<string, RunStatus> = {
  '3': 'succeeded',
  FINISHED: 'succeeded',
  '4': 'failed',
  FAILED: 'failed',
  '5': 'interrupted',
  KILLED: 'interrupted',
}

function readYaml(file: string): Record<string, unknown> | null {
  try {
    const v = parseStructured(fs.readFileSync(file, 'utf8'), file)
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** Files under `dir`, by `/`-separated path (MLflow keys with `/` are nested folders). */
function walk(dir: string, prefix = ''): Array<{ rel: string; abs: string }> {
  let entries: fs.Dirent[]
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return []
  }
  const out: Array<{ rel: string; abs: string }> = []
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name
    const abs = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...walk(abs, rel))
    else if (e.isFile()) out.push({ rel, abs })
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : 1))
}

/** The xp id of an MLflow run: its start time, and 50 bits of its MLflow id's hash. */
export function importedRunId(mlflowRunId: string, started: number): string {
  return newRunId(new Date(started), createHash('sha256').update(`mlflow:${mlflowRunId}`).digest())
}

/**
 * Import every run of an MLflow file store.
 *
 * @example
 * const { imported, skipped } = await importMlflowStore(repo, { path: 'mlruns' })
 */
export async function importMlflowStore(repo: Repo, opts: { path: string }): Promise<ImportResult> {
  const root = path.resolve(repo.ctx.cwd, opts.path)
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory())
    throw new XpError('XP_MLFLOW_STORE_NOT_FOUND', `no MLflow file store at ${opts.path}`, {
      hint: 'give the mlruns folder (the one with an experiment id folder per experiment)',
    })
  const refs = await git(['for-each-ref', '--format=%(refname)', RUNS_PREFIX], { cwd: repo.root, env: repo.ctx.env })
  const have = new Set(refs.stdout.split('\n').filter(Boolean))
  const names = new Set(
    (await git(['for-each-ref', '--format=%(contents:subject)', RUNS_PREFIX], { cwd: repo.root, env: repo.ctx.env })).stdout
      .split('\n')
      .map((l) => /^xp: (\S+) /.exec(l)?.[1])
      .filter((n): n is string => !!n),
  )
  const result: ImportResult = { imported: [], skipped: 0, deleted: 0, experiments: [] }
  const expStore = new ExperimentStore(repo.xpDir)
  const knownExps = expStore.read()
  const expDirs = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== '.trash' && d.name !== 'models')
    .map((d) => path.join(root, d.name))
  const found = expDirs.map((d) => ({ dir: d, meta: readYaml(path.join(d, 'meta.yaml')) })).filter((e) => e.meta && typeof e.meta.name === 'string')
  if (!found.length)
    throw new XpError('XP_MLFLOW_STORE_NOT_FOUND', `${opts.path} holds no MLflow experiment (no <id>/meta.yaml)`, {
      hint: 'give the mlruns folder of an MLflow file store',
    })
  for (const { dir, meta } of found) {
    const experiment = String(meta!.name)
    if (meta!.lifecycle_stage === 'deleted') continue
    result.experiments.push(experiment)
    if (experiment !== DEFAULT_EXPERIMENT && !knownExps.has(experiment))
      expStore.append({ e: 'create', name: experiment, created: Number(meta!.creation_time) || 0 })
    const runDirs = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(dir, d.name))
      .sort()
    for (const runDir of runDirs) {
      const rm = readYaml(path.join(runDir, 'meta.yaml'))
      if (!rm || typeof rm.run_id !== 'string') continue
      if (rm.lifecycle_stage === 'deleted') {
        result.deleted++
        continue
      }
      const started = Number(rm.start_time) || 0
      const id = importedRunId(rm.run_id, started)
      if (have.has(RunRef.fromId(id).toString())) {
        result.skipped++
        continue
      }
      const tags: Record<string, string> = {}
      for (const f of walk(path.join(runDir, 'tags'))) tags[f.rel] = fs.readFileSync(f.abs, 'utf8')
      const params: Record<string, string> = {}
      for (const f of walk(path.join(runDir, 'params'))) params[f.rel] = fs.readFileSync(f.abs, 'utf8')
      const metrics: Record<string, Point[]> = {}
      for (const f of walk(path.join(runDir, 'metrics'))) {
        const pts: Point[] = []
        for (const line of fs.readFileSync(f.abs, 'utf8').split('\n')) {
          const [t, v, s] = line.trim().split(/\s+/)
          if (t === undefined || v === undefined || t === '') continue
          pts.push([Number(s ?? 0), Number(v), Number(t)])
        }
        if (pts.length) metrics[f.rel] = pts
      }
      const artifacts: LiveRun['artifacts'] = {}
      for (const f of walk(path.join(runDir, 'artifacts'))) {
        const rel = safeRelPath(f.rel, 'artifact')
        const { oid, size } = await putFile(repo.cacheDir, f.abs)
        artifacts[rel] = { oid, size }
      }
      tags[SOURCE_RUN_TAG] = rm.run_id
      const runName = typeof rm.run_name === 'string' && rm.run_name ? rm.run_name : tags[RUN_NAME_TAG]
      const name = xpName(runName, names)
      names.add(name)
      const ended = Number(rm.end_time) || started
      const live: LiveRun = {
        id,
        name,
        experiment,
        started,
        user: typeof rm.user_id === 'string' ? rm.user_id : '',
        params,
        tags,
        metrics,
        artifacts,
        extra: [],
        touched: ended,
        // the project the import runs in (README "Monorepos")
        project: projectPrefix(repo),
      }
      await recordLiveRun(repo, live, {
        status: STATUS[String(rm.status)] ?? 'interrupted',
        ended,
        parentHint: tags[GIT_COMMIT_TAG],
        command: tags['mlflow.source.name'] ? `mlflow: ${tags['mlflow.source.name']}` : 'mlflow',
      })
      have.add(RunRef.fromId(id).toString())
      result.imported.push({ id, name, experiment, mlflow_run_id: rm.run_id })
    }
  }
  return result
}
