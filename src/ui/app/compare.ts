/// <reference lib="dom" />
/**
 * Compare 2+ runs: params and metrics side by side with the differing rows highlighted,
 * their series overlaid (one chart per metric), and a scatter of a param against a metric.
 */
import { el, svg } from './dom.js'
import { api } from './api.js'
import { lineChart, scatterChart, PALETTE } from '../chart.js'
import { changedKeys, columnKeys, formatCell, type RunRow } from '../table.js'
import type { RunSeries } from '../series.js'
import { compareImages } from './files-view.js'
import { coinciding } from '../stats.js'

export async function compareView(runs: RunRow[], all: RunRow[]): Promise<HTMLElement> {
  const root = el('section', 'compare-view')
  const color = (i: number) => PALETTE[i % PALETTE.length]
  root.append(el('h2', {}, `Comparing ${runs.length} runs`))
  const legend = el('div', 'legend-row')
  runs.forEach((r, i) => {
    const sw = el('span', 'swatch')
    sw.style.background = color(i)
    legend.append(el('a', { class: 'legend-item', attrs: { href: `#/run/${r.id}` } }, sw, r.name))
  })
  root.append(legend)

  // side by side
  const onlyChanged = el('input', { attrs: { type: 'checkbox' } })
  const table = el('table', 'side-by-side')
  const draw = () => {
    table.replaceChildren()
    table.append(
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', {}, 'key'),
          ...runs.map((r, i) => {
            const sw = el('span', 'swatch')
            sw.style.background = color(i)
            return el('th', {}, sw, r.name)
          }),
        ),
      ),
    )
    const tbody = el('tbody')
    for (const group of ['params', 'metrics'] as const) {
      const changed = changedKeys(runs, group)
      const keys = columnKeys(runs, group).filter((k) => !onlyChanged.checked || changed.has(k))
      tbody.append(el('tr', 'group-row', el('th', { attrs: { colspan: runs.length + 1 } }, group)))
      for (const k of keys)
        tbody.append(
          el(
            'tr',
            changed.has(k) ? 'changed' : '',
            el('td', 'key', k),
            ...runs.map((r) => el('td', typeof r[group][k] === 'number' ? 'num' : '', formatCell(r[group][k]))),
          ),
        )
    }
    table.append(tbody)
  }
  onlyChanged.addEventListener('change', draw)
  draw()
  root.append(el('h3', {}, 'Params and metrics'), el('label', 'toggle', onlyChanged, ' only what differs'), table)

  // series
  const charts = el('div', 'charts')
  root.append(el('h3', {}, 'Series'), charts)
  const series: RunSeries[] = await Promise.all(runs.map((r) => api.series(r.id).catch(() => ({}) as RunSeries)))
  const keys = [...new Set(series.flatMap((s) => Object.keys(s)))].sort()
  if (!keys.length) charts.append(el('p', 'muted', 'These runs recorded no series (step metrics).'))
  for (const k of keys) {
    const lines = runs.flatMap((r, i) => (series[i][k] ? [{ label: r.name, color: color(i), x: series[i][k].x, y: series[i][k].y }] : []))
    // runs whose curves are the same hide each other: say which
    const same = coinciding(lines).filter((g) => g.labels.length > 1)
    charts.append(
      el(
        'div',
        { class: 'chart-box', attrs: { 'data-metric': k } },
        svg(lineChart(k, lines)),
        ...same.map((g) => el('p', 'muted coincide', `identical: ${g.labels.join(' = ')}`)),
      ),
    )
  }

  // the same image in each run, side by side
  const images = await compareImages(runs)
  if (images) root.append(el('h3', {}, 'Images'), images)

  // scatter of a param against a metric
  const params = columnKeys(all, 'params').filter((k) => all.some((r) => typeof r.params[k] === 'number'))
  const metrics = columnKeys(all, 'metrics').filter((k) => all.some((r) => typeof r.metrics[k] === 'number'))
  if (params.length && metrics.length) {
    const xSel = el('select', { class: 'scatter-x', attrs: { 'aria-label': 'param' } }, ...params.map((p) => el('option', { attrs: { value: p } }, p)))
    const ySel = el('select', { class: 'scatter-y', attrs: { 'aria-label': 'metric' } }, ...metrics.map((m) => el('option', { attrs: { value: m } }, m)))
    const changedP = params.find((p) => changedKeys(runs, 'params').has(p))
    if (changedP) xSel.value = changedP
    const allRuns = el('input', { attrs: { type: 'checkbox' } })
    const box = el('div', 'scatter-box')
    const drawScatter = () => {
      const pool = allRuns.checked ? all : runs
      const pts = pool.flatMap((r) => {
        const x = r.params[xSel.value]
        const y = r.metrics[ySel.value]
        const i = runs.indexOf(r)
        return typeof x === 'number' && typeof y === 'number' ? [{ label: r.name, x, y, color: i >= 0 ? color(i) : '#9aa4b2' }] : []
      })
      box.replaceChildren(
        pts.length
          ? svg(scatterChart(`${ySel.value} against ${xSel.value}`, pts, xSel.value, { width: 640, height: 340 }))
          : el('p', 'muted', 'No run has both values.'),
      )
    }
    for (const c of [xSel, ySel, allRuns]) c.addEventListener('change', drawScatter)
    drawScatter()
    root.append(
      el('h3', {}, 'Params against a metric'),
      el('div', 'toolbar', el('label', {}, 'param ', xSel), el('label', {}, 'metric ', ySel), el('label', 'toggle', allRuns, ' all runs')),
      box,
    )
  }
  return root
}
