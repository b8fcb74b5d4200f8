/// <reference lib="dom" />
/** One run: its record, notes (add one), output log, files changed, deps and outs, series. */
import { el, svg } from './dom.js'
import { api, type FullRun } from './api.js'
import { lineChart, PALETTE } from '../chart.js'
import { drawDataPlot, imageNode } from '../dvc-plots.js'
import { toDom } from '../html.js'
import { formatCell } from '../table.js'
import { formatDuration } from '../../core/compare/format.js'
import { filesSection, packagesSection } from './files-view.js'
import { followLive } from './live.js'
import type { RunSeries } from '../series.js'

type Cell = unknown

function kvTable(rows: Array<[string, Cell | Node]>, cls = 'kv'): HTMLElement {
  return el('table', cls, el('tbody', {}, ...rows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v instanceof Node ? v : formatCell(v))))))
}

function dataTable(entries: FullRun['deps']): HTMLElement {
  const keys = Object.keys(entries)
  if (!keys.length) return el('p', 'muted', 'none')
  return el(
    'table',
    'data',
    el('thead', {}, el('tr', {}, el('th', {}, 'path'), el('th', {}, 'oid'), el('th', {}, 'size'), el('th', {}, 'files'))),
    el(
      'tbody',
      {},
      ...keys.map((k) =>
        el(
          'tr',
          {},
          el('td', {}, k),
          el('td', 'oid', entries[k].oid),
          el('td', 'num', formatCell(entries[k].size)),
          el('td', 'num', formatCell(entries[k].files)),
        ),
      ),
    ),
  )
}

export async function runPage(id: string): Promise<HTMLElement> {
  const run = await api.run(id)
  const root = el('section', { class: 'run-view', attrs: { 'data-id': run.id } })
  root.append(el('h2', {}, el('span', 'run-name', run.name), ' ', el('span', `badge ${run.status}`, run.status)), el('p', 'muted', run.id))

  const short = (s: string | null) => (s ? s.slice(0, 12) : '')
  root.append(
    el('h3', {}, 'Record'),
    kvTable([
      ['command', el('code', {}, run.command)],
      ...(run.message ? ([['message', run.message]] as Array<[string, Cell]>) : []),
      ['exit code', run.exit_code],
      ['started', run.started],
      ['ended', run.ended],
      ['duration', formatDuration(run.duration_s)],
      ...(run.experiment ? ([['experiment', run.experiment]] as Array<[string, Cell]>) : []),
      ['branch', run.branch],
      ['baseline', short(run.baseline)],
      ['commit', short(run.commit)],
      ['ref', run.ref],
    ]),
  )
  const grid = el('div', 'two-col')
  grid.append(
    el('div', {}, el('h3', {}, 'Params'), Object.keys(run.params).length ? kvTable(Object.entries(run.params).sort(), 'kv params') : el('p', 'muted', 'none')),
    el(
      'div',
      {},
      el('h3', {}, 'Metrics'),
      Object.keys(run.metrics).length ? kvTable(Object.entries(run.metrics).sort(), 'kv metrics') : el('p', 'muted', 'none'),
    ),
  )
  root.append(grid)
  // tags (MLflow's set_tag); MLflow's own mlflow.* tags are left out, as in xp show
  const tags = Object.entries(run.tags ?? {}).filter(([k]) => !k.startsWith('mlflow.'))
  if (tags.length) root.append(el('h3', {}, 'Tags'), kvTable(tags.sort(), 'kv tags'))

  // notes
  const notes = el('pre', 'notes', run.notes ?? '')
  const input = el('textarea', { attrs: { rows: 2, placeholder: 'add a note (stored as a git note on refs/notes/xp)', 'aria-label': 'note' } })
  const status = el('span', 'muted')
  const add = el(
    'button',
    {
      class: 'primary add-note',
      on: {
        click: async () => {
          if (!input.value.trim()) return
          add.disabled = true
          try {
            notes.textContent = await api.addNote(run.id, input.value)
            input.value = ''
            status.textContent = 'saved'
          } catch (e) {
            status.textContent = `not saved: ${(e as Error).message}`
          } finally {
            add.disabled = false
          }
        },
      },
    },
    'Add note',
  )
  root.append(el('h3', {}, 'Notes'), notes, el('div', 'note-form', input, add, status))

  const charts = el('div', 'charts')
  const files = el('div', 'files', el('p', 'muted', 'loading…'))
  const log = el('pre', 'log', 'loading…')
  const plots = el('div', 'plots')
  root.append(el('h3', {}, 'Series'), charts, el('h3', {}, 'Plots and images'), plots, el('h3', {}, 'Files changed against the baseline'), files)
  root.append(el('h3', {}, 'Files'), filesSection(run.id))
  root.append(el('h3', {}, 'Deps'), dataTable(run.deps), el('h3', {}, 'Outs'), dataTable(run.outs))
  root.append(
    el('h3', {}, 'Output log'),
    log,
    el('h3', {}, 'Environment'),
    el('pre', 'env', JSON.stringify(run.env, null, 2)),
    el('h3', {}, 'Python packages'),
    packagesSection(run.id),
  )

  const drawSeries = (s: RunSeries) => {
    const keys = Object.keys(s).sort()
    charts.replaceChildren(...(keys.length ? [] : [el('p', 'muted', 'none')]))
    for (const k of keys)
      charts.append(
        el('div', { class: 'chart-box', attrs: { 'data-metric': k } }, svg(lineChart(k, [{ label: run.name, color: PALETTE[0], x: s[k].x, y: s[k].y }]))),
      )
  }
  void api.series(run.id).then(drawSeries)
  // a live run: its curves and log tail grow on the page (live.ts)
  if (!run.commit && run.status !== 'lost') {
    const where = run.env.host ? ` on ${String(run.env.host)} (pid ${String(run.env.pid ?? '')})` : ''
    const state = run.status === 'running' ? `running${where}` : 'ended, being recorded'
    root.insertBefore(el('p', 'live-note', `${state}; curves and log follow it`), root.children[2] ?? null)
    followLive(root, run.id, drawSeries, (t) => (log.textContent = t || '(no output yet)'))
  } else if (run.status === 'lost')
    root.insertBefore(
      el(
        'p',
        'warning',
        `lost: its xp process (pid ${String(run.env.pid ?? '')} on ${String(run.env.host ?? '')}) ended without recording it. \`xp run --recover ${run.name}\` records it as failed with what it left.`,
      ),
      root.children[2] ?? null,
    )
  void api.plots(run.id).then((p) => {
    if (!p.images.length && !p.plots.length) plots.append(el('p', 'muted', 'none'))
    for (const d of p.plots)
      for (const v of drawDataPlot([{ label: run.name, color: PALETTE[0], plot: d }]))
        plots.append(el('div', { class: 'chart-box plot-box', attrs: { 'data-plot': d.path } }, toDom(v)))
    for (const img of p.images) plots.append(toDom(imageNode(img, img.name)))
  })
  void api.files(run.id).then((fs) => {
    files.replaceChildren(
      fs.length
        ? el('table', 'files-table', el('tbody', {}, ...fs.map((f) => el('tr', {}, el('td', `change change-${f.status[0]}`, f.status), el('td', {}, f.path)))))
        : el('p', 'muted', 'no files changed'),
    )
  })
  void api.log(run.id).then((t) => (log.textContent = t || '(no output)'))
  return root
}
