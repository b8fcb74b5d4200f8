/**
 * Every run's curves at once, for the runs view's many-curve panel (docs/ui.md#many-runs):
 * read once per refs version through one `git cat-file --batch`, thinned for an overview,
 * and answered one metric at a time.
 */
import type { CatFileBatch } from '../core/git.js'
import type { ListedRun } from '../core/runs/list.js'
import { parseSeries, mergeSeries, thin, type Curve, type RunSeries } from './series.js'

/** Points per curve in the overview (the run page and compare keep up to 5,000). */
export const OVERVIEW_POINTS = 300
const MAX_FILE = 8 * 1024 * 1024

export interface AllCurves {
  /** metric name -> runs that have it */
  counts: Record<string, number>
  byMetric: Map<string, Record<string, Curve>>
}

/**
 * Read the series of every run; a run whose files are missing or too big is left out.
 *
 * @example
 * const all = await readAllCurves(runs, batch); all.byMetric.get('loss') // { RUNID: { x, y } }
 */
export async function readAllCurves(runs: Array<Pick<ListedRun, 'id' | 'commit' | 'series'>>, batch: CatFileBatch): Promise<AllCurves> {
  const byMetric = new Map<string, Record<string, Curve>>()
  // ask for every file first (git answers in order), then parse as the answers come
  const asks: Array<{ run: string; path: string; obj: ReturnType<CatFileBatch['read']> }> = []
  for (const r of runs) if (r.commit) for (const p of r.series ?? []) asks.push({ run: r.id, path: p, obj: batch.read(`${r.commit}:${p}`) })
  let current = ''
  let files: Array<{ path: string; series: RunSeries }> = []
  const flush = () => {
    if (!current) return
    for (const [k, c] of Object.entries(mergeSeries(files))) {
      let m = byMetric.get(k)
      if (!m) byMetric.set(k, (m = {}))
      m[current] = thin(c, OVERVIEW_POINTS)
    }
    files = []
  }
  for (const a of asks) {
    const obj = await a.obj
    if (a.run !== current) flush(), (current = a.run)
    if (obj?.type !== 'blob' || obj.content.length > MAX_FILE) continue
    files.push({ path: a.path, series: parseSeries(obj.content.toString('utf8'), a.path) })
  }
  flush()
  const counts: Record<string, number> = {}
  for (const [k, m] of byMetric) counts[k] = Object.keys(m).length
  return { counts, byMetric }
}
