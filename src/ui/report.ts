/**
 * `xp plots`: one self-contained HTML file (inline CSS and SVG, no script, no network
 * reference) with the runs' series overlaid, their metrics table and their params diff.
 * For CI artifacts and pull requests.
 */
import type { Repo } from '../core/repo.js'
import { XpError } from '../core/errors.js'
import { CatFileBatch } from '../core/git.js'
import { listRuns, listScope, type ListedRun } from '../core/runs/list.js'
import { resolveRun } from '../core/runs/resolve.js'
import { readRunSeries, readRunPlots, slimRun } from './data.js'
import { drawDataPlot, imageNode, type RunPlots } from './dvc-plots.js'
import { h, toHtml, type VNode } from './html.js'
import { lineChart, PALETTE } from './chart.js'
import { changedKeys, columnKeys, formatCell, type RunRow } from './table.js'
import { formatCreated, formatDuration } from '../core/compare/format.js'
import type { RunSeries } from './series.js'

/** How many runs a report shows when none are named. */
export const DEFAULT_REPORT_RUNS = 5

export const REPORT_CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#667}
table{border-collapse:collapse;margin:4px 0}
th,td{border-bottom:1px solid #e3e6ec;padding:4px 10px;text-align:left;white-space:nowrap}
th{background:#f4f6f9;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.changed{background:#fff4cc}
.status-succeeded{color:#1a7f37}.status-failed{color:#cf222e}.status-interrupted{color:#9a6700}
.legend-item{margin-right:16px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{border:1px solid #e3e6ec;border-radius:6px;background:#fff}
.chart .grid{stroke:#eceef2;stroke-width:1}
.chart .plot-area{fill:none;stroke:#c9ced8}
.chart .tick,.chart .axis-label{font-size:10px;fill:#667}
.chart .chart-title{font-size:13px;font-weight:600;fill:#1d2330}
.chart .legend{font-size:11px}
.chart .cm-count{font-size:12px}
.plots{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.plot-image{margin:0;border:1px solid #e3e6ec;border-radius:6px;padding:8px}
.plot-image img{display:block;min-width:160px;max-width:480px;image-rendering:pixelated}
.plot-image figcaption{color:#667;font-size:12px;margin-top:4px}
`

export interface ReportResult {
  html: string
  runs: ListedRun[]
  /** how many runs the repository has (the report may hold fewer) */
  total: number
}

function runLabel(r: RunRow, i: number): VNode {
  return h('td', {}, h('span', { class: 'swatch', style: `background:${PALETTE[i % PALETTE.length]}` }), r.name)
}

/** The report's body, from runs and their series (pure). */
/** DVC's plots and images of the runs: one chart per plot file (runs overlaid, or one matrix each), images side by side. */
function plotsSection(runs: RunRow[], plots: RunPlots[]): VNode[] {
  const paths = [...new Set(plots.flatMap((p) => p.plots.map((d) => d.path)))].sort()
  const images = [...new Set(plots.flatMap((p) => p.images.map((i) => i.path)))].sort()
  if (!paths.length && !images.length) return []
  const nodes: VNode[] = []
  for (const path of paths) {
    const with_ = runs.flatMap((r, i) => {
      const plot = plots[i].plots.find((d) => d.path === path)
      return plot ? [{ label: r.name, color: PALETTE[i % PALETTE.length], plot }] : []
    })
    nodes.push(...drawDataPlot(with_))
  }
  for (const path of images)
    runs.forEach((r, i) => {
      const img = plots[i].images.find((m) => m.path === path)
      if (img) nodes.push(imageNode(img, `${img.name} (${r.name})`))
    })
  return [h('h2', {}, 'Plots and images'), h('div', { class: 'plots' }, ...nodes)]
}

export function reportTree(runs: RunRow[], series: RunSeries[], generated: string, plots: RunPlots[] = []): VNode {
  const metricKeys = columnKeys(runs, 'metrics')
  const changedMetrics = changedKeys(runs, 'metrics')
  const changedParams = [...changedKeys(runs, 'params')]
  const sameParams = columnKeys(runs, 'params').filter((k) => !changedParams.includes(k))
  const metricsTable = h(
    'table',
    { class: 'metrics' },
    h('tr', {}, ...['run', 'id', 'status', 'created', 'duration', ...metricKeys].map((c) => h('th', {}, c))),
    ...runs.map((r, i) =>
      h(
        'tr',
        {},
        runLabel(r, i),
        h('td', {}, r.id.slice(0, 10)),
        h('td', { class: `status-${r.status}` }, r.status),
        h('td', {}, formatCreated(r.started)),
        h('td', { class: 'num' }, formatDuration(r.duration_s)),
        ...metricKeys.map((k) => h('td', { class: changedMetrics.has(k) ? 'num changed' : 'num' }, formatCell(r.metrics[k]))),
      ),
    ),
  )
  const paramsTable = changedParams.length
    ? h(
        'table',
        { class: 'params' },
        h('tr', {}, h('th', {}, 'run'), ...changedParams.map((k) => h('th', {}, k))),
        ...runs.map((r, i) => h('tr', {}, runLabel(r, i), ...changedParams.map((k) => h('td', { class: 'changed' }, formatCell(r.params[k]))))),
      )
    : h('p', {}, runs.length > 1 ? 'The runs have the same params.' : 'One run: nothing to compare.')
  const keys = [...new Set(series.flatMap((s) => Object.keys(s)))].sort()
  const charts = keys.map((k) =>
    lineChart(
      k,
      runs.flatMap((r, i) => (series[i][k] ? [{ label: r.name, color: PALETTE[i % PALETTE.length], x: series[i][k].x, y: series[i][k].y }] : [])),
    ),
  )
  return h(
    'body',
    {},
    h('h1', {}, 'xp report'),
    h('p', { class: 'meta' }, `${runs.length} run${runs.length === 1 ? '' : 's'}, generated ${generated}`),
    h(
      'p',
      {},
      ...runs.map((r, i) => h('span', { class: 'legend-item' }, h('span', { class: 'swatch', style: `background:${PALETTE[i % PALETTE.length]}` }), r.name)),
    ),
    h('h2', {}, 'Series'),
    keys.length ? h('div', { class: 'charts' }, ...charts) : h('p', {}, 'These runs recorded no series.'),
    ...plotsSection(runs, plots),
    h('h2', {}, 'Metrics'),
    metricsTable,
    h('h2', {}, 'Params that differ'),
    paramsTable,
    sameParams.length ? h('p', { class: 'meta' }, `Same in every run: ${sameParams.map((k) => `${k}=${formatCell(runs[0].params[k])}`).join(', ')}`) : null,
  )
}

/**
 * Build the report for the named runs (ids, prefixes or names, of any project), or the
 * latest few of the current project (`latest`: a count, Infinity for all; `allProjects`:
 * of every project).
 *
 * @example
 * const { html } = await buildReport(repo, { runs: ['brisk-otter', 'calm-heron'] })
 */
export async function buildReport(repo: Repo, opts: { runs?: string[]; latest?: number; allProjects?: boolean } = {}): Promise<ReportResult> {
  const named = !!opts.runs?.length
  const all = await listRuns(repo, named ? {} : listScope(repo, opts.allProjects))
  const runs = named ? opts.runs!.map((s) => resolveRun(all, s)) : all.slice(0, opts.latest ?? DEFAULT_REPORT_RUNS)
  if (!runs.length) throw new XpError('XP_NO_RUNS', 'there are no runs to report on', { hint: 'record one with `xp run -- COMMAND`' })
  const batch = new CatFileBatch({ cwd: repo.root, env: repo.ctx.env })
  let series: RunSeries[]
  const plots: RunPlots[] = []
  try {
    series = []
    for (const r of runs) series.push(await readRunSeries(repo, r, batch))
    for (const r of runs) plots.push(await readRunPlots(repo, r, batch))
  } finally {
    batch.close()
  }
  const generated = repo.ctx.now().toISOString().slice(0, 19).replace('T', ' ') + ' UTC'
  const rows = runs.map(slimRun)
  const title = toHtml(h('title', {}, `xp report: ${rows.map((r) => r.name).join(', ')}`))
  const html = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8">${title}<style>${REPORT_CSS}</style></head>${toHtml(reportTree(rows, series, generated, plots))}</html>\n`
  return { html, runs, total: all.length }
}
