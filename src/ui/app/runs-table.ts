/// <reference lib="dom" />
/**
 * The runs table: virtualized rows (only those in view exist in the DOM, so 10,000 runs
 * scroll and sort smoothly), sort by any column, the filter language, a column chooser,
 * show/hide failed runs, hide the columns that are the same in every run shown, and a
 * selection to compare. Each column is as wide as its header and values need (measured
 * once per data load), and the page's spare width goes to the columns still cut.
 */
import { el, clear } from './dom.js'
import { columnKeys, cellValue, sortRows, keyRow, formatCell, type RunRow } from '../table.js'
import { compileFilter } from '../../core/compare/filter.js'
import { formatCreated, formatDuration } from '../../core/compare/format.js'
import type { ListedRun } from '../../core/runs/record.js'

export const ROW_HEIGHT = 30
const OVERSCAN = 8
const FIXED = ['name', 'status', 'created', 'duration_s']
const WIDTH: Record<string, number> = { select: 34, status: 110, created: 168, duration_s: 84 }
/** A params or metrics column is as wide as its text needs, within these bounds. */
const MIN_WIDTH = 64
const MAX_WIDTH = 240
/** padding either side, and room for the sort arrow */
const CELL_PAD = 18
const ARROW = 16
const NOTE_MARK = 24
/** values measured per column (the first runs): enough to size it, cheap at 10,000 runs */
const SAMPLE = 400
const HEADER_FONT = '600 14px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
const CELL_FONT = '14px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
const COLUMNS_KEY = 'xp.columns'
/** More columns than this are hidden by default (the chooser shows them). */
const DEFAULT_MAX_COLUMNS = 14

export interface TableState {
  sortCol: string
  sortDir: 'asc' | 'desc'
  filter: string
  showFailed: boolean
  selected: Set<string>
  /** columns the user hid (so new keys appear by default) */
  hidden: Set<string>
  /** hide params and metrics columns whose value is the same in every run shown */
  onlyDiffering: boolean
}

export function initialState(): TableState {
  let hidden: string[] = []
  try {
    hidden = JSON.parse(localStorage.getItem(COLUMNS_KEY) ?? '[]')
  } catch {
    // a broken saved value: start with every column
  }
  return {
    sortCol: 'created',
    sortDir: 'desc',
    filter: '',
    showFailed: true,
    selected: new Set(),
    hidden: new Set(Array.isArray(hidden) ? hidden : []),
    onlyDiffering: false,
  }
}

const label = (c: string) => (c === 'duration_s' ? 'duration' : c)

/** A run's project as `xp show --all-projects` writes it: its folder, `.` for the root project, `-` for a run recorded before runs had one. */
function projectText(r: RunRow): string {
  return r.project === undefined ? '-' : r.project || '.'
}

function cellText(r: RunRow, c: string): string {
  if (c === 'project') return projectText(r)
  if (c === 'created') return formatCreated(r.started)
  if (c === 'duration_s') return formatDuration(r.duration_s)
  return formatCell(cellValue(r, c))
}

let measureCtx: CanvasRenderingContext2D | null | undefined
function textWidth(text: string, font: string): number {
  if (measureCtx === undefined) measureCtx = document.createElement('canvas').getContext('2d')
  if (!measureCtx) return text.length * 8
  measureCtx.font = font
  return measureCtx.measureText(text).width
}

/** The width the name or a params or metrics column needs to show its header and values whole. */
function naturalWidth(runs: RunRow[], c: string): number {
  let longest = ''
  for (let i = 0; i < runs.length && i < SAMPLE; i++) {
    const t = cellText(runs[i], c)
    if (t.length > longest.length) longest = t
  }
  const header = textWidth(label(c).replace(/^(metrics|params)\./, ''), HEADER_FONT) + ARROW
  const note = c === 'name' ? NOTE_MARK : 0
  return Math.ceil(Math.max(MIN_WIDTH, header, textWidth(longest, CELL_FONT) + note) + CELL_PAD)
}

/** Params and metrics columns whose value differs between some of the runs. */
function differing(runs: RunRow[], columns: string[]): Set<string> {
  const out = new Set<string>()
  for (const c of columns) {
    if (!c.startsWith('params.') && !c.startsWith('metrics.')) continue
    const first = runs.length ? cellValue(runs[0], c) : undefined
    const key = (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v)
    const k0 = key(first)
    for (const r of runs) {
      if (key(cellValue(r, c)) !== k0) {
        out.add(c)
        break
      }
    }
  }
  return out
}

export class RunsTable {
  readonly root: HTMLElement
  private runs: RunRow[] = []
  private view: RunRow[] = []
  private allColumns: string[] = []
  private known: RunRow[] = []
  private columns: string[] = []
  /** the width each column needs (header and values whole), from the last data load */
  private natural = new Map<string, number>()
  private scroller!: HTMLElement
  private body!: HTMLElement
  private header!: HTMLElement
  private countLabel!: HTMLElement
  private filterError!: HTMLElement
  private compareBtn!: HTMLButtonElement
  private chooser!: HTMLElement
  private template = ''
  private renderedRange = ''
  private frame = 0
  private resized = false

  /** the parallel-coordinates brush (analysis.ts): applied after the filter */
  private brush: ((r: RunRow) => boolean) | null = null

  constructor(
    private state: TableState,
    private onCompare: (ids: string[]) => void,
    /** told the runs the filter keeps and those shown after the brush, at every refresh */
    private onView?: (base: RunRow[], shown: RunRow[]) => void,
  ) {
    this.root = el('section', 'runs-view')
    this.build()
  }

  private build() {
    const filterInput = el('input', {
      class: 'filter',
      attrs: { type: 'search', placeholder: 'filter: metrics.acc > 0.9 and params.model == "rf"', spellcheck: 'false', 'aria-label': 'filter' },
      on: { input: (e: Event) => this.setFilter((e.target as HTMLInputElement).value) },
    })
    filterInput.value = this.state.filter
    const failed = el('input', {
      attrs: { type: 'checkbox', checked: this.state.showFailed },
      on: { change: (e: Event) => ((this.state.showFailed = (e.target as HTMLInputElement).checked), this.refresh()) },
    })
    failed.classList.add('show-failed')
    const differ = el('input', {
      attrs: { type: 'checkbox', checked: this.state.onlyDiffering },
      on: { change: (e: Event) => ((this.state.onlyDiffering = (e.target as HTMLInputElement).checked), this.refresh()) },
    })
    differ.classList.add('only-differing')
    this.compareBtn = el(
      'button',
      { class: 'compare-btn primary', attrs: { disabled: true }, on: { click: () => this.onCompare([...this.state.selected]) } },
      'Compare',
    )
    this.chooser = el('div', { class: 'chooser', attrs: { hidden: true } })
    const chooserBtn = el('button', { class: 'columns-btn', on: { click: () => this.toggleChooser() } }, 'Columns')
    this.countLabel = el('span', 'count')
    this.filterError = el('div', { class: 'filter-error', attrs: { role: 'alert' } })
    const toolbar = el(
      'div',
      'toolbar',
      filterInput,
      el('label', 'toggle', failed, ' failed runs'),
      el(
        'label',
        { class: 'toggle', attrs: { title: 'hide the params and metrics columns whose value is the same in every run shown' } },
        differ,
        ' only columns that differ',
      ),
      el('div', 'chooser-wrap', chooserBtn, this.chooser),
      this.compareBtn,
      el('button', { class: 'clear-btn', on: { click: () => (this.state.selected.clear(), this.refresh()) } }, 'Clear selection'),
      this.countLabel,
    )
    this.header = el('div', { class: 'thead', attrs: { role: 'row' } })
    this.body = el('div', { class: 'tbody', attrs: { role: 'rowgroup' } })
    this.scroller = el('div', { class: 'table-scroll', attrs: { role: 'table' }, on: { scroll: () => this.schedule() } }, this.header, this.body)
    window.addEventListener('resize', () => this.schedule(true))
    this.root.append(toolbar, this.filterError, this.scroller)
  }

  setRuns(runs: RunRow[]) {
    this.runs = runs
    const known = new Set(runs.map((r) => r.id))
    for (const id of this.state.selected) if (!known.has(id)) this.state.selected.delete(id)
    const metrics = columnKeys(runs, 'metrics').map((k) => `metrics.${k}`)
    const params = columnKeys(runs, 'params').map((k) => `params.${k}`)
    // runs of more than one project (`xp ui --all-projects`): which one each is, after its name
    const projects = new Set(runs.flatMap((r) => (r.project === undefined ? [] : [r.project]))).size > 1 ? ['project'] : []
    this.allColumns = [FIXED[0], ...projects, ...FIXED.slice(1), ...metrics, ...params]
    this.known = [keyRow(runs)]
    this.natural = new Map(['name', ...projects, ...metrics, ...params].map((c) => [c, naturalWidth(runs, c)]))
    // With very many keys, start with the first few; the chooser shows the rest.
    if (!localStorage.getItem(COLUMNS_KEY) && this.allColumns.length > DEFAULT_MAX_COLUMNS)
      for (const c of this.allColumns.slice(DEFAULT_MAX_COLUMNS)) this.state.hidden.add(c)
    this.refresh()
  }

  /** Keep only the runs `pred` accepts (null: all), on top of the filter. */
  setBrush(pred: ((r: RunRow) => boolean) | null) {
    this.brush = pred
    this.refresh()
  }

  /** Put a panel between the toolbar and the rows. */
  addPanel(node: HTMLElement) {
    this.root.insertBefore(node, this.scroller)
  }

  private setFilter(text: string) {
    this.state.filter = text
    this.refresh()
  }

  /** Filter, sort and redraw everything (after any change of state or data). */
  refresh() {
    let pred: (r: RunRow) => boolean = () => true
    this.filterError.textContent = ''
    try {
      const expr = this.state.filter.trim()
      if (expr) {
        const f = compileFilter(expr)
        pred = (r) => f(r as ListedRun)
      }
    } catch (e) {
      this.filterError.textContent = (e as Error).message
    }
    const base = this.runs.filter((r) => (this.state.showFailed || r.status === 'succeeded') && safe(pred, r))
    let rows = this.brush ? base.filter(this.brush) : base
    rows =
      this.state.sortCol === 'project'
        ? [...rows].sort((a, b) => projectText(a).localeCompare(projectText(b)) * (this.state.sortDir === 'asc' ? 1 : -1))
        : sortRows(rows, this.state.sortCol, this.state.sortDir, this.known)
    this.view = rows
    const shown = this.allColumns.filter((c) => !this.state.hidden.has(c))
    const same = this.state.onlyDiffering ? differing(rows, shown) : null
    this.columns = same ? shown.filter((c) => same.has(c) || !(c.startsWith('params.') || c.startsWith('metrics.'))) : shown
    this.template = this.widths()
      .map((w) => `${w}px`)
      .join(' ')
    this.drawHeader()
    this.body.style.height = `${rows.length * ROW_HEIGHT}px`
    this.renderedRange = ''
    this.drawRows()
    this.updateCounts()
    if (!this.chooser.hidden) this.drawChooser()
    this.onView?.(base, rows)
  }

  /**
   * Widths of the select box and the shown columns: each as its text needs up to
   * MAX_WIDTH; what the page has to spare then goes to the columns still cut.
   */
  private widths(): number[] {
    const want = this.columns.map((c) => WIDTH[c] ?? this.natural.get(c) ?? MIN_WIDTH + CELL_PAD)
    const given = this.columns.map((c, i) => (WIDTH[c] ? want[i] : Math.min(want[i], MAX_WIDTH)))
    let spare = (this.scroller.clientWidth || 0) - WIDTH.select - given.reduce((a, b) => a + b, 0)
    for (let i = 0; i < given.length && spare > 0; i++) {
      const more = Math.min(spare, want[i] - given[i])
      given[i] += more
      spare -= more
    }
    return [WIDTH.select, ...given]
  }

  /** The counters and the compare button, after the selection changed (rows stay in place). */
  private updateCounts() {
    const n = this.state.selected.size
    this.countLabel.textContent = `${this.view.length} of ${this.runs.length} runs${n ? `, ${n} selected` : ''}`
    this.compareBtn.disabled = n < 2
    this.compareBtn.textContent = `Compare${n ? ` (${n})` : ''}`
  }

  private sortBy(col: string) {
    if (this.state.sortCol === col) this.state.sortDir = this.state.sortDir === 'asc' ? 'desc' : 'asc'
    else {
      this.state.sortCol = col
      this.state.sortDir = col === 'name' || col === 'status' || col === 'project' ? 'asc' : 'desc'
    }
    const hadFocus = this.header.contains(document.activeElement)
    this.refresh()
    // the header is drawn again: keep the keyboard where it was
    if (hadFocus) this.header.querySelector<HTMLElement>(`[data-col="${CSS.escape(col)}"]`)?.focus()
  }

  private drawHeader() {
    clear(this.header)
    this.header.style.gridTemplateColumns = this.template
    const all = el('input', {
      attrs: { type: 'checkbox', 'aria-label': 'select all shown' },
      on: { change: (e: Event) => this.selectAll((e.target as HTMLInputElement).checked) },
    })
    all.checked = this.view.length > 0 && this.view.every((r) => this.state.selected.has(r.id))
    this.header.append(el('div', 'th select', all))
    for (const c of this.columns) {
      const arrow = this.state.sortCol === c ? (this.state.sortDir === 'asc' ? ' ▲' : ' ▼') : ''
      const group = c.startsWith('metrics.') ? ' metric' : c.startsWith('params.') ? ' param' : ''
      const sort = this.state.sortCol === c ? (this.state.sortDir === 'asc' ? 'ascending' : 'descending') : 'none'
      this.header.append(
        el(
          'div',
          {
            class: `th${group}${arrow ? ' sorted' : ''}`,
            attrs: { 'data-col': c, title: `${label(c)}: sort by it`, role: 'columnheader', tabindex: 0, 'aria-sort': sort },
            on: { click: () => this.sortBy(c), keydown: (e: KeyboardEvent) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), this.sortBy(c)) },
          },
          label(c).replace(/^(metrics|params)\./, ''),
          arrow,
        ),
      )
    }
  }

  private selectAll(on: boolean) {
    for (const r of this.view) on ? this.state.selected.add(r.id) : this.state.selected.delete(r.id)
    this.refresh()
  }

  private schedule(resized = false) {
    this.resized ||= resized
    if (this.frame) return
    this.frame = requestAnimationFrame(() => {
      this.frame = 0
      if (this.resized) this.redraw()
      else this.drawRows()
    })
  }

  /** Lay out and draw again once the table is back in the page or resized (the spare width changed). */
  redraw() {
    this.resized = false
    const template = this.widths()
      .map((w) => `${w}px`)
      .join(' ')
    if (template !== this.template) {
      this.template = template
      this.drawHeader()
    }
    this.renderedRange = ''
    this.drawRows()
  }

  /** Put in the DOM only the rows in view (plus a few either side). */
  private drawRows() {
    const top = Math.max(0, this.scroller.scrollTop - this.header.offsetHeight)
    const height = this.scroller.clientHeight || window.innerHeight
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN)
    const last = Math.min(this.view.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN)
    const range = `${first}:${last}`
    if (range === this.renderedRange) return
    this.renderedRange = range
    const frag = document.createDocumentFragment()
    for (let i = first; i < last; i++) frag.appendChild(this.row(this.view[i], i))
    clear(this.body)
    this.body.appendChild(frag)
  }

  private row(r: RunRow, i: number): HTMLElement {
    const box = document.createElement('input')
    box.type = 'checkbox'
    box.checked = this.state.selected.has(r.id)
    box.setAttribute('aria-label', `select ${r.name}`)
    box.addEventListener('change', () => {
      box.checked ? this.state.selected.add(r.id) : this.state.selected.delete(r.id)
      row.classList.toggle('selected', box.checked)
      this.updateCounts()
    })
    const row = document.createElement('div')
    row.className = `tr status-${r.status}${this.state.selected.has(r.id) ? ' selected' : ''}`
    row.setAttribute('role', 'row')
    row.dataset.id = r.id
    row.style.gridTemplateColumns = this.template
    row.style.transform = `translateY(${i * ROW_HEIGHT}px)`
    const sel = document.createElement('div')
    sel.className = 'td select'
    sel.appendChild(box)
    row.appendChild(sel)
    for (const c of this.columns) {
      const td = document.createElement('div')
      td.className = 'td'
      td.dataset.col = c
      if (c === 'name') {
        const a = document.createElement('a')
        a.href = `#/run/${r.id}`
        a.textContent = r.name
        a.className = 'run-link'
        td.appendChild(a)
        if (r.notes) {
          const n = document.createElement('span')
          n.className = 'has-note'
          n.textContent = '✎'
          n.title = r.notes
          td.appendChild(n)
        }
      } else if (c === 'status') {
        const s = document.createElement('span')
        s.className = `badge ${r.status}`
        s.textContent = r.status
        td.appendChild(s)
      } else {
        const v = c === 'project' ? r.project : cellValue(r, c)
        if (typeof v === 'number' || c === 'duration_s') td.classList.add('num')
        td.textContent = cellText(r, c)
        td.title = td.textContent
      }
      row.appendChild(td)
    }
    return row
  }

  private toggleChooser() {
    this.chooser.hidden = !this.chooser.hidden
    if (!this.chooser.hidden) this.drawChooser()
  }

  private drawChooser() {
    clear(this.chooser)
    const save = () => localStorage.setItem(COLUMNS_KEY, JSON.stringify([...this.state.hidden]))
    const set = (cols: string[], show: boolean) => {
      for (const c of cols) show ? this.state.hidden.delete(c) : this.state.hidden.add(c)
      save()
      this.refresh()
    }
    this.chooser.append(
      el(
        'div',
        'chooser-actions',
        el('button', { on: { click: () => set(this.allColumns, true) } }, 'all'),
        el(
          'button',
          {
            on: {
              click: () =>
                set(
                  this.allColumns.filter((c) => c !== 'name'),
                  false,
                ),
            },
          },
          'none',
        ),
      ),
    )
    for (const c of this.allColumns) {
      const box = el('input', { attrs: { type: 'checkbox', 'data-col': c }, on: { change: (e: Event) => set([c], (e.target as HTMLInputElement).checked) } })
      box.checked = !this.state.hidden.has(c)
      this.chooser.append(el('label', 'chooser-item', box, ' ', label(c)))
    }
  }
}

function safe(pred: (r: RunRow) => boolean, r: RunRow): boolean {
  try {
    return pred(r)
  } catch {
    return false
  }
}
