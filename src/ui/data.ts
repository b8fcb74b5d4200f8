/**
 * What the page and the report read from git about runs: slim rows for the table, a run's
 * series, its output log, the files it changed against its baseline, and a cheap version
 * of refs/xp for refreshing.
 */
import { createHash } from 'node:crypto'
import type { Repo } from '../core/repo.js'
import { git, CatFileBatch } from '../core/git.js'
import { NOTES_REF } from '../core/runs/ref.js'
import { LOG_IN_TREE } from '../core/runs/record-run.js'
import type { ListedRun } from '../core/runs/list.js'
import { parseSeries, mergeSeries, type RunSeries } from './series.js'
import fs from 'node:fs'
import { liveSeriesFiles, type LiveRunStart } from '../core/runs/live-run.js'
import { findSeries } from '../core/runs/record-run.js'
import type { RunRow } from './table.js'
import { DVC_YAML, parseDvcYaml, type DvcPlotDef } from '../core/dvc/project.js'
import { DVCLIVE_PLOT_DIRS, dataPlot, defFor, imageType, type RunPlots } from './dvc-plots.js'

type RepoLike = Pick<Repo, 'root' | 'ctx'>

/** Series files above this size are not parsed (a curve of a million steps is thinned anyway). */
const MAX_SERIES_BYTES = 64 * 1024 * 1024

/** The columns the runs table needs; env, deps and outs stay on the run page. */
export function slimRun(r: ListedRun): RunRow {
  const tags = (r as { tags?: Record<string, string> }).tags
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    started: r.started,
    duration_s: r.duration_s,
    commit: r.commit,
    baseline: r.baseline,
    ...(r.project !== undefined ? { project: r.project } : {}),
    params: r.params,
    metrics: r.metrics,
    notes: r.notes,
    ...(tags && Object.keys(tags).length ? { tags } : {}),
    ...(r.damaged ? { damaged: r.damaged } : {}),
  }
}

/**
 * The curves of one run, read from its commit's tree (files listed in `series`).
 *
 * @example
 * const s = await readRunSeries(repo, run) // { loss: { x: [0, 1, 2], y: [...] } }
 */
export async function readRunSeries(repo: RepoLike, run: Pick<ListedRun, 'commit' | 'series'>, batch?: CatFileBatch): Promise<RunSeries> {
  const own = batch ?? new CatFileBatch({ cwd: repo.root, env: repo.ctx.env })
  try {
    const files: Array<{ path: string; series: RunSeries }> = []
    for (const p of run.series ?? []) {
      const obj = await own.read(`${run.commit}:${p}`)
      if (obj?.type !== 'blob' || obj.content.length > MAX_SERIES_BYTES) continue
      files.push({ path: p, series: parseSeries(obj.content.toString('utf8'), p) })
    }
    return mergeSeries(files)
  } finally {
    if (!batch) own.close()
  }
}

/** An image above this size is listed as too large rather than inlined. */
const MAX_IMAGE_BYTES = 8 * 1024 * 1024
/** A data plot above this size is not drawn (a confusion matrix of a million rows is a table, not a plot). */
const MAX_PLOT_BYTES = 16 * 1024 * 1024

/**
 * The images and template plots of a run, from its commit: the files under DVCLive's plot
 * folders and the plots the commit's dvc.yaml defines (tabular step series excepted: they
 * are the run's series).
 *
 * @example
 * const { images, plots } = await readRunPlots(repo, run) // plots[0].template === 'confusion'
 */
export async function readRunPlots(repo: RepoLike, run: Pick<ListedRun, 'commit' | 'series'>, batch?: CatFileBatch): Promise<RunPlots> {
  const own = batch ?? new CatFileBatch({ cwd: repo.root, env: repo.ctx.env })
  const out: RunPlots = { images: [], plots: [] }
  try {
    let defs: DvcPlotDef[] = []
    const dvcYaml = await own.read(`${run.commit}:${DVC_YAML}`)
    if (dvcYaml?.type === 'blob') {
      try {
        defs = parseDvcYaml(dvcYaml.content.toString('utf8')).plots
      } catch {
        // a dvc.yaml that does not parse defines no plots
      }
    }
    const roots = [...new Set([...DVCLIVE_PLOT_DIRS, ...defs.flatMap((d) => d.files ?? [d.id])])].filter(
      (r) => r && !r.startsWith('/') && !r.split('/').includes('..'),
    )
    const res = await git(['ls-tree', '-r', '-z', '--name-only', run.commit, '--', ...roots.map((r) => `:(literal)${r}`)], {
      cwd: repo.root,
      env: repo.ctx.env,
      allowFail: true,
    })
    const series = new Set(run.series ?? [])
    for (const file of res.stdout.split('\0').filter(Boolean).sort()) {
      if (series.has(file)) continue
      const mime = imageType(file)
      const def = defFor(defs, file)
      if (mime) {
        const obj = await own.read(`${run.commit}:${file}`)
        if (obj?.type !== 'blob' || obj.content.length > MAX_IMAGE_BYTES) continue
        const dir = DVCLIVE_PLOT_DIRS[0] + '/'
        out.images.push({ path: file, name: file.startsWith(dir) ? file.slice(dir.length) : file, mime, data: obj.content.toString('base64') })
        continue
      }
      // tabular files without a template are step series; JSON (and templated files) are plots
      if (!/\.json$/i.test(file) && !def?.template) continue
      const obj = await own.read(`${run.commit}:${file}`)
      if (obj?.type !== 'blob' || obj.content.length > MAX_PLOT_BYTES) continue
      let doc: unknown
      try {
        doc = JSON.parse(obj.content.toString('utf8'))
      } catch {
        continue
      }
      const p = dataPlot(file, doc, def)
      if (p) out.plots.push(p)
    }
    return out
  } finally {
    if (!batch) own.close()
  }
}

/** The command's output as recorded in the run's tree (its error tail when there is none). */
export async function readRunLog(batch: CatFileBatch, run: Pick<ListedRun, 'commit' | 'error_tail'>): Promise<string> {
  const obj = await batch.read(`${run.commit}:${LOG_IN_TREE}`)
  return obj && obj.type === 'blob' ? obj.content.toString('utf8') : (run.error_tail ?? '')
}

export interface ChangedFile {
  /** git's letter: A added, M modified, D deleted, T type changed */
  status: string
  path: string
}

/** Files the run changed against its baseline (all files when it has none); xp's own log is left out. */
export async function changedFiles(repo: RepoLike, run: Pick<ListedRun, 'commit' | 'baseline'>): Promise<ChangedFile[]> {
  const args = run.baseline
    ? ['diff', '--name-status', '--no-renames', '-z', run.baseline, run.commit, '--']
    : ['diff-tree', '--root', '-r', '--name-status', '--no-renames', '-z', '--no-commit-id', run.commit, '--']
  const res = await git(args, { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (res.code !== 0) return []
  const parts = res.stdout.split('\0').filter((p) => p !== '')
  const out: ChangedFile[] = []
  for (let i = 0; i + 1 < parts.length; i += 2) if (!parts[i + 1].startsWith('.xp-run/')) out.push({ status: parts[i], path: parts[i + 1] })
  return out
}

/** A short hash of the refs under refs/xp, refs/notes/xp and the tags (the registry): changes when a run, note or registry event lands. */
export async function refsVersion(repo: RepoLike): Promise<string> {
  const { stdout } = await git(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/xp/', NOTES_REF, 'refs/tags/'], {
    cwd: repo.root,
    env: repo.ctx.env,
  })
  return createHash('sha1').update(stdout).digest('hex').slice(0, 16)
}

/**
 * The curves of a live run as they are now: the files it is writing in the working tree and
 * its system metrics, read at each request (the page polls while the run is running).
 */
export async function readLiveSeries(start: LiveRunStart): Promise<RunSeries> {
  const files: Array<{ path: string; series: RunSeries }> = []
  for (const f of await liveSeriesFiles(start, findSeries)) {
    try {
      if (fs.statSync(f.abs).size > MAX_SERIES_BYTES) continue
      files.push({ path: f.path, series: parseSeries(fs.readFileSync(f.abs, 'utf8'), f.path) })
    } catch {
      // rotated or removed while we looked
    }
  }
  return mergeSeries(files)
}
