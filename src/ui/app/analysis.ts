/// <reference lib="dom" />
/**
 * Many-run views above the runs table (docs/ui.md#many-runs), over the runs the filter
 * keeps: parallel coordinates of params against a metric (drag on an axis to brush; the
 * table keeps only the runs inside every brush), a group-by with mean ± std of every metric,
 * and the curves of every run shown for one metric (hover one: the rest fade, and the
 * legend names the runs whose curves coincide with it), averaged per group with a ± std
 * band when grouped. Canvas, not SVG: 10,000 lines draw in a few tens of milliseconds.
 */
import { el } from './dom.js'
import { PALETTE, fmt } from '../chart.js'
import { cellValue, columnKeys, type RunRow } from '../table.js'
import { makeAxis, axisPos, meanStd, groupBy, meanCurve, curveKey, type Axis } from '../stats.js'
import type { Curve } from '../series.js'

/** Params on the parallel-coordinates axes at most (those that vary first). */
const MAX_PARAM_AXES = 10
const GROUP_ROWS = 200
const PAD = { left: 48, right: 64, top: 34, bottom: 26 }

type Pred = ((r: RunRow) => boolean) | null

interface Host {
  /** keep only these runs in the table (null: all) */
  setBrush(pred: Pred): void
}

function canvas(cls: string, height: number): { c: HTMLCanvasElement; ctx: CanvasRenderingContext2D; size: () => { w: number; h: number } } {
  const c = el('canvas', { class: cls })
  c.style.height = `${height}px`
  const ctx = c.getContext('2d')!
  const size = () => {
    const w = Math.max(320, c.clientWidth || c.parentElement?.clientWidth || 900)
    const dpr = window.devicePixelRatio || 1
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(height * dpr)) {
      c.width = Math.round(w * dpr)
      c.height = Math.round(height * dpr)
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    return { w, h: height }
  }
  return { c, ctx, size }
}

/** A colour from blue (low) to red (high) for t in 0..1, in `n` steps so lines can be batched. */
function ramp(t: number): string {
  const stops = [
    [49, 54, 149],
    [69, 117, 180],
    [116, 173, 209],
    [253, 174, 97],
    [244, 109, 67],
    [165, 0, 38],
  ]
  const x = Math.min(0.9999, Math.max(0, t)) * (stops.length - 1)
  const i = Math.floor(x)
  const f = x - i
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f))
  return `rgb(${c[0]},${c[1]},${c[2]})`
}

const label = (k: string) => k.replace(/^(params|metrics|tags)\./, '')

export class Analysis {
  readonly root: HTMLElement
  private base: RunRow[] = []
  private shown: RunRow[] = []
  private open = { parallel: false, curves: false }
  private groupKey = ''
  private metricSel: HTMLSelectElement
  private groupSel: HTMLSelectElement
  private parallelBox: HTMLElement
  private groupBox: HTMLElement
  private curvesBox: HTMLElement
  private par = canvas('parallel', 300)
  private axes: Axis[] = []
  private axisX: number[] = []
  /** axes and every run's position on them, computed once per data or metric change (a drag only re-strokes) */
  private layout: { base: RunRow[]; metric: string; axes: Axis[]; pos: Float64Array[] } | null = null
  /** every line in grey, for the layout and size it was drawn at */
  private greyLayer: { layout: object; key: string; canvas: HTMLCanvasElement } | null = null
  /** the runs inside every brush, from the last draw: the table's brush is a lookup */
  private kept = new Set<RunRow>()
  private brushes = new Map<string, [number, number]>()
  private drag: { key: string; from: number; to: number } | null = null
  private curveMetricSel = el('select', { class: 'curve-metric', attrs: { 'aria-label': 'curve metric' } })
  private cv = canvas('curves', 320)
  private curveCache = new Map<string, Promise<Record<string, Curve>>>()
  private curveBase: HTMLCanvasElement | null = null
  private curveHit: Array<{ key: string; label: string; color: string; x: number[]; y: number[] }> = []
  private curveScale: { sx: (v: number) => number; sy: (v: number) => number } | null = null
  private curveLegend = el('div', 'curve-legend')
  private curveTip = el('div', { class: 'curve-tip', attrs: { role: 'status' } })
  private version = ''

  constructor(private host: Host) {
    const toggle = (what: 'parallel' | 'curves', text: string) =>
      el(
        'button',
        { class: `toggle-${what}`, attrs: { 'aria-pressed': 'false' }, on: { click: (e: Event) => this.toggle(what, e.currentTarget as HTMLButtonElement) } },
        text,
      )
    this.metricSel = el('select', { class: 'parallel-metric', attrs: { 'aria-label': 'metric' }, on: { change: () => this.drawParallel() } })
    this.groupSel = el('select', {
      class: 'group-by',
      attrs: { 'aria-label': 'group by' },
      on: { change: () => ((this.groupKey = this.groupSel.value), this.drawGroups(), this.drawCurves()) },
    })
    this.curveMetricSel.addEventListener('change', () => this.drawCurves())
    this.parallelBox = el(
      'div',
      { class: 'parallel-box', attrs: { hidden: true } },
      el(
        'div',
        'toolbar',
        el('label', {}, 'colour by ', this.metricSel),
        el('button', { class: 'clear-brush', on: { click: () => this.clearBrush() } }, 'Clear brushes'),
        el('span', 'muted', 'drag along an axis to keep a range; click an axis to drop its range'),
      ),
      this.par.c,
    )
    this.curvesBox = el(
      'div',
      { class: 'curves-box', attrs: { hidden: true } },
      el('div', 'toolbar', el('label', {}, 'metric ', this.curveMetricSel), el('span', 'muted', 'hover a curve: the rest fade')),
      el('div', 'curve-wrap', this.cv.c, this.curveTip),
      this.curveLegend,
    )
    this.groupBox = el('div', 'group-box')
    this.root = el(
      'div',
      'analysis',
      el('div', 'toolbar', toggle('parallel', 'Parallel coordinates'), toggle('curves', 'Curves'), el('label', {}, 'group by ', this.groupSel)),
      this.parallelBox,
      this.curvesBox,
      this.groupBox,
    )
    this.wireParallel()
    this.wireCurves()
  }

  private toggle(what: 'parallel' | 'curves', btn: HTMLButtonElement) {
    this.open[what] = !this.open[what]
    btn.setAttribute('aria-pressed', String(this.open[what]))
    btn.classList.toggle('on', this.open[what])
    ;(what === 'parallel' ? this.parallelBox : this.curvesBox).hidden = !this.open[what]
    if (what === 'parallel') {
      if (!this.open.parallel) this.clearBrush()
      else this.drawParallel()
    } else void this.drawCurves()
    document.dispatchEvent(new Event('xp-layout'))
  }

  /** The runs the filter keeps (`base`, for the axes) and those the table shows after the brushes. */
  setRuns(base: RunRow[], shown: RunRow[], version: string) {
    const keysChanged = this.base.length !== base.length || this.version !== version
    // the same runs as before (a brush or a sort refreshed the table): nothing to lay out again
    const same = base.length === this.base.length && base.every((r, i) => r === this.base[i])
    this.base = same ? this.base : base
    this.shown = shown
    if (version !== this.version) {
      this.version = version
      this.curveCache.clear()
      this.fillSelects()
    } else if (keysChanged) this.fillSelects()
    if (this.open.parallel && !same) {
      this.drawParallel()
      // the brush keeps the runs inside it among the new ones (after this refresh of the table)
      if (this.brushes.size) queueMicrotask(() => this.applyBrush())
    }
    if (this.open.curves) void this.drawCurves()
    this.drawGroups()
  }

  private fillSelects() {
    const metrics = columnKeys(this.base, 'metrics').filter((k) => this.base.some((r) => typeof r.metrics[k] === 'number'))
    const keep = (sel: HTMLSelectElement, opts: Array<[string, string]>, fallback = '') => {
      const cur = sel.value
      sel.replaceChildren(...opts.map(([v, t]) => el('option', { attrs: { value: v } }, t)))
      sel.value = opts.some(([v]) => v === cur) ? cur : fallback || (opts[0]?.[0] ?? '')
    }
    keep(
      this.metricSel,
      metrics.map((m) => [`metrics.${m}`, m]),
    )
    const tagKeys = [...new Set(this.base.flatMap((r) => Object.keys(r.tags ?? {})))].sort()
    const groupable = [...columnKeys(this.base, 'params').map((k) => `params.${k}`), ...tagKeys.map((k) => `tags.${k}`), 'status']
    keep(this.groupSel, [['', '(none)'], ...groupable.map((k): [string, string] => [k, k.startsWith('tags.') ? `tag ${label(k)}` : label(k)])], this.groupKey)
    this.groupKey = this.groupSel.value
  }

  private value(r: RunRow, key: string): unknown {
    return key.startsWith('tags.') ? r.tags?.[key.slice(5)] : cellValue(r, key)
  }

  // ---- parallel coordinates ----

  private pickAxes(): Axis[] {
    const rows = this.base
    const params = columnKeys(rows, 'params').map((k) => `params.${k}`)
    const varying = params.filter((k) => {
      const first = JSON.stringify(cellValue(rows[0], k) ?? null)
      return rows.some((r) => JSON.stringify(cellValue(r, k) ?? null) !== first)
    })
    const keys = [...(varying.length ? varying : params).slice(0, MAX_PARAM_AXES)]
    if (this.metricSel.value) keys.push(this.metricSel.value)
    return keys.map((k) =>
      makeAxis(
        k,
        rows.map((r) => cellValue(r, k)),
      ),
    )
  }

  private passes(pos: Float64Array): boolean {
    for (let i = 0; i < this.axes.length; i++) {
      const b = this.brushes.get(this.axes[i].key)
      if (b && !(pos[i] >= b[0] && pos[i] <= b[1])) return false
    }
    return true
  }

  private lay() {
    const metric = this.metricSel.value
    if (this.layout && this.layout.base === this.base && this.layout.metric === metric) return this.layout
    const axes = this.pickAxes()
    const pos = this.base.map((r) => Float64Array.from(axes, (a) => axisPos(a, cellValue(r, a.key))))
    return (this.layout = { base: this.base, metric, axes, pos })
  }

  drawParallel() {
    const t0 = performance.now()
    const { ctx, size, c } = this.par
    const { w, h } = size()
    const layout = this.lay()
    this.axes = layout.axes
    for (const k of this.brushes.keys()) if (!this.axes.some((a) => a.key === k)) this.brushes.delete(k)
    const n = this.axes.length
    ctx.clearRect(0, 0, w, h)
    if (n < 2) {
      ctx.fillStyle = '#667085'
      ctx.fillText('Parallel coordinates need a param and a metric.', 16, 40)
      return
    }
    const top = PAD.top
    const ih = h - PAD.top - PAD.bottom
    this.axisX = this.axes.map((_, i) => PAD.left + (i * (w - PAD.left - PAD.right)) / (n - 1))
    const metric = this.axes[n - 1]
    const y = (p: number) => top + ih - p * ih
    // Every line in grey, drawn once per layout into an offscreen canvas (a drag only copies
    // it); then the lines inside the brushes in 12 colour buckets on top.
    const alpha = Math.max(0.06, Math.min(0.9, 40 / Math.max(1, this.base.length)))
    const trace = (path: Path2D, pos: Float64Array) => {
      let started = false
      for (let i = 0; i < n; i++) {
        if (Number.isNaN(pos[i])) {
          started = false
          continue
        }
        if (started) path.lineTo(this.axisX[i], y(pos[i]))
        else path.moveTo(this.axisX[i], y(pos[i]))
        started = true
      }
    }
    const key = `${w}x${h}`
    if (this.brushes.size || this.drag) {
      if (!this.greyLayer || this.greyLayer.layout !== layout || this.greyLayer.key !== key) {
        const g = document.createElement('canvas')
        g.width = c.width
        g.height = c.height
        const gx = g.getContext('2d')!
        gx.setTransform(c.width / w, 0, 0, c.height / h, 0, 0)
        const grey = new Path2D()
        for (const pos of layout.pos) trace(grey, pos)
        gx.lineWidth = 1
        gx.globalAlpha = Math.min(0.25, alpha)
        gx.strokeStyle = '#c4c9d2'
        gx.stroke(grey)
        this.greyLayer = { layout, key, canvas: g }
      }
      ctx.save()
      ctx.setTransform(1, 0, 0, 1, 0, 0)
      ctx.drawImage(this.greyLayer.canvas, 0, 0)
      ctx.restore()
    }
    const buckets: Array<Path2D | null> = new Array(12).fill(null)
    const kept = new Set<RunRow>()
    for (let k = 0; k < this.base.length; k++) {
      const pos = layout.pos[k]
      if (!this.passes(pos)) continue
      kept.add(this.base[k])
      trace((buckets[Math.min(11, Math.floor((Number.isNaN(pos[n - 1]) ? 0 : pos[n - 1]) * 12))] ??= new Path2D()), pos)
    }
    this.kept = kept
    ctx.lineWidth = 1
    ctx.globalAlpha = alpha
    buckets.forEach((p, i) => {
      if (!p) return
      ctx.strokeStyle = ramp((i + 0.5) / 12)
      ctx.stroke(p)
    })
    ctx.globalAlpha = 1
    // axes, their labels and ranges, the brushes
    ctx.font = '11px system-ui, sans-serif'
    this.axes.forEach((a, i) => {
      const x = this.axisX[i]
      ctx.strokeStyle = '#667085'
      ctx.beginPath()
      ctx.moveTo(x, top)
      ctx.lineTo(x, top + ih)
      ctx.stroke()
      ctx.fillStyle = a === metric ? '#0b5394' : '#6b3fa0'
      ctx.textAlign = 'center'
      ctx.fillText(label(a.key), x, 14)
      ctx.fillStyle = '#667085'
      const lo = a.kind === 'number' ? fmt(a.min) : (a.cats[0] ?? '')
      const hi = a.kind === 'number' ? fmt(a.max) : (a.cats[a.cats.length - 1] ?? '')
      ctx.fillText(hi, x, top - 6)
      ctx.fillText(lo, x, top + ih + 14)
      if (a.kind === 'category' && a.cats.length <= 12)
        a.cats.forEach((cat, j) => {
          ctx.textAlign = 'left'
          ctx.fillText(cat, x + 4, y(a.cats.length === 1 ? 0.5 : j / (a.cats.length - 1)) + 4)
        })
      const b = this.drag?.key === a.key ? [Math.min(this.drag.from, this.drag.to), Math.max(this.drag.from, this.drag.to)] : this.brushes.get(a.key)
      if (b) {
        ctx.fillStyle = 'rgba(37, 99, 235, 0.18)'
        ctx.strokeStyle = '#2563eb'
        ctx.fillRect(x - 8, y(b[1]), 16, y(b[0]) - y(b[1]))
        ctx.strokeRect(x - 8, y(b[1]), 16, y(b[0]) - y(b[1]))
      }
    })
    c.dataset.axes = JSON.stringify(this.axes.map((a, i) => ({ key: a.key, x: Math.round(this.axisX[i]), top, bottom: top + ih })))
    c.dataset.kept = String(kept.size)
    c.dataset.lines = String(this.base.length)
    c.dataset.ms = String(Math.round(performance.now() - t0))
  }

  private wireParallel() {
    const c = this.par.c
    const at = (e: MouseEvent) => {
      const r = c.getBoundingClientRect()
      return { x: e.clientX - r.left, y: e.clientY - r.top }
    }
    const toPos = (py: number) => {
      const ih = this.par.c.clientHeight - PAD.top - PAD.bottom
      return Math.min(1, Math.max(0, (PAD.top + ih - py) / ih))
    }
    c.addEventListener('mousedown', (e: MouseEvent) => {
      const p = at(e)
      const i = this.axisX.findIndex((x) => Math.abs(x - p.x) <= 12)
      if (i < 0) return
      e.preventDefault()
      this.drag = { key: this.axes[i].key, from: toPos(p.y), to: toPos(p.y) }
    })
    window.addEventListener('mousemove', (e: MouseEvent) => {
      if (!this.drag) return
      this.drag.to = toPos(at(e).y)
      this.drawParallel()
    })
    window.addEventListener('mouseup', () => {
      const d = this.drag
      if (!d) return
      this.drag = null
      const lo = Math.min(d.from, d.to)
      const hi = Math.max(d.from, d.to)
      if (hi - lo < 0.01) this.brushes.delete(d.key)
      else this.brushes.set(d.key, [lo, hi])
      this.drawParallel()
      this.applyBrush()
    })
  }

  private applyBrush() {
    const kept = this.kept
    this.host.setBrush(this.brushes.size ? (r) => kept.has(r) : null)
  }

  private clearBrush() {
    if (!this.brushes.size) return
    this.brushes.clear()
    if (this.open.parallel) this.drawParallel()
    this.applyBrush()
  }

  // ---- groups ----

  private drawGroups() {
    const key = this.groupKey
    if (!key) return void this.groupBox.replaceChildren()
    const groups = groupBy(this.shown, (r) => this.value(r, key))
    const metrics = columnKeys(this.shown, 'metrics').filter((k) => this.shown.some((r) => typeof r.metrics[k] === 'number'))
    const head = el('tr', {}, el('th', {}, label(key)), el('th', 'num', 'runs'), ...metrics.map((m) => el('th', 'num', `${m} (mean ± std)`)))
    const body = el('tbody')
    for (const g of groups.slice(0, GROUP_ROWS)) {
      const cells = metrics.map((m) => {
        const s = meanStd(g.rows.map((r) => r.metrics[m]))
        return el(
          'td',
          { class: 'num', attrs: s ? { 'data-mean': s.mean, 'data-std': s.std, 'data-n': s.n } : {} },
          s ? (s.n > 1 ? `${fmt(s.mean)} ± ${fmt(s.std)}` : fmt(s.mean)) : '',
        )
      })
      body.append(el('tr', { attrs: { 'data-group': g.key } }, el('td', {}, g.key), el('td', 'num', g.rows.length), ...cells))
    }
    this.groupBox.replaceChildren(
      el('h3', {}, `${groups.length} groups by ${label(key)}`),
      el('div', 'group-scroll', el('table', 'group-table', el('thead', {}, head), body)),
      groups.length > GROUP_ROWS ? el('p', 'muted', `the first ${GROUP_ROWS} groups`) : '',
    )
  }

  // ---- many curves ----

  private async curvesOf(metric: string): Promise<Record<string, Curve>> {
    let p = this.curveCache.get(metric)
    if (!p) {
      p = fetch(`/api/curves?metric=${encodeURIComponent(metric)}`)
        .then((r) => r.json())
        .then((b) => b.curves ?? {})
      this.curveCache.set(metric, p)
    }
    return p
  }

  private async drawCurves() {
    if (!this.open.curves) return
    if (!this.curveMetricSel.options.length) {
      const { metrics } = await (await fetch('/api/curves')).json()
      const names = Object.keys(metrics ?? {}).sort()
      this.curveMetricSel.replaceChildren(...names.map((m) => el('option', { attrs: { value: m } }, `${m} (${metrics[m]} runs)`)))
      if (!names.length) return void this.curveLegend.replaceChildren(el('p', 'muted', 'No run recorded series (step metrics).'))
    }
    const metric = this.curveMetricSel.value
    const t0 = performance.now()
    const all = await this.curvesOf(metric)
    const rows = this.shown.filter((r) => all[r.id])
    const { size, c } = this.cv
    const { w, h } = size()
    // what to draw: one curve per run, or per group its mean with a ± std band
    type Drawn = { key: string; label: string; color: string; x: number[]; y: number[]; lo?: number[]; hi?: number[]; members: string[] }
    let drawn: Drawn[]
    if (this.groupKey) {
      drawn = groupBy(rows, (r) => this.value(r, this.groupKey)).map((g, i) => {
        const b = meanCurve(g.rows.map((r) => all[r.id]))
        return {
          key: g.key,
          label: `${label(this.groupKey)}=${g.key} (${g.rows.length} runs)`,
          color: PALETTE[i % PALETTE.length],
          x: b.x,
          y: b.mean,
          lo: b.lo,
          hi: b.hi,
          members: g.rows.map((r) => r.name),
        }
      })
    } else {
      // runs whose curves coincide are drawn once and named together
      const byKey = new Map<string, Drawn>()
      for (const r of rows) {
        const cv = all[r.id]
        const k = curveKey(cv)
        const d = byKey.get(k)
        if (d) d.members.push(r.name)
        else byKey.set(k, { key: k, label: r.name, color: '', x: cv.x, y: cv.y, members: [r.name] })
      }
      drawn = [...byKey.values()]
      // few curves: the palette; many: 12 shades, so they stroke in 12 batches
      drawn.forEach((d, i) => {
        d.color = drawn.length <= PALETTE.length ? PALETTE[i] : ramp((Math.floor((i / drawn.length) * 12) + 0.5) / 12)
      })
    }
    let x0 = Infinity
    let x1 = -Infinity
    let y0 = Infinity
    let y1 = -Infinity
    for (const d of drawn)
      for (let i = 0; i < d.x.length; i++) {
        if (d.x[i] < x0) x0 = d.x[i]
        if (d.x[i] > x1) x1 = d.x[i]
        const lo = d.lo ? d.lo[i] : d.y[i]
        const hi = d.hi ? d.hi[i] : d.y[i]
        if (lo < y0) y0 = lo
        if (hi > y1) y1 = hi
      }
    if (!(x1 > x0)) (x0 -= 1), (x1 += 1)
    if (!(y1 > y0)) (y0 -= 1), (y1 += 1)
    const L = 56
    const R = 12
    const T = 12
    const B = 24
    const sx = (v: number) => L + ((v - x0) / (x1 - x0)) * (w - L - R)
    const sy = (v: number) => T + (h - T - B) - ((v - y0) / (y1 - y0)) * (h - T - B)
    this.curveScale = { sx, sy }
    // the base layer, drawn once per data change into an offscreen canvas; hover only adds one curve on top
    const base = (this.curveBase ??= document.createElement('canvas'))
    base.width = c.width
    base.height = c.height
    const b = base.getContext('2d')!
    b.setTransform(c.width / w, 0, 0, c.height / h, 0, 0)
    b.clearRect(0, 0, w, h)
    b.font = '10px system-ui, sans-serif'
    b.fillStyle = '#667085'
    b.strokeStyle = '#c9ced8'
    b.strokeRect(L, T, w - L - R, h - T - B)
    b.textAlign = 'right'
    b.fillText(fmt(y1), L - 4, T + 8)
    b.fillText(fmt(y0), L - 4, h - B)
    b.textAlign = 'center'
    b.fillText(fmt(x0), L, h - 8)
    b.fillText(fmt(x1), w - R, h - 8)
    b.fillText('step', (L + w - R) / 2, h - 8)
    const alpha = this.groupKey ? 0.9 : Math.max(0.08, Math.min(0.9, 30 / Math.max(1, drawn.length)))
    // Lines batched by colour, 100 curves a stroke, 1 px wide: Chromium's software canvas
    // strokes 10,000 such curves in ~0.15 s, one 1.2 px path of them all in ~4 s (bench/ui.mjs)
    const batches: Array<{ colour: string; path: Path2D }> = []
    const open = new Map<string, { path: Path2D; n: number }>()
    for (const d of drawn) {
      if (d.lo && d.hi && d.x.length) {
        b.globalAlpha = 0.15
        b.fillStyle = d.color
        b.beginPath()
        for (let i = 0; i < d.x.length; i++) (i ? b.lineTo : b.moveTo).call(b, sx(d.x[i]), sy(d.hi![i]))
        for (let i = d.x.length - 1; i >= 0; i--) b.lineTo(sx(d.x[i]), sy(d.lo[i]))
        b.closePath()
        b.fill()
      }
      let cur = open.get(d.color)
      if (!cur || cur.n >= 100) {
        cur = { path: new Path2D(), n: 0 }
        open.set(d.color, cur)
        batches.push({ colour: d.color, path: cur.path })
      }
      cur.n++
      for (let i = 0; i < d.x.length; i++) i ? cur.path.lineTo(sx(d.x[i]), sy(d.y[i])) : cur.path.moveTo(sx(d.x[i]), sy(d.y[i]))
    }
    b.globalAlpha = alpha
    b.lineWidth = this.groupKey ? 2 : drawn.length > 50 ? 1 : 1.5
    for (const { colour, path } of batches) {
      b.strokeStyle = colour
      b.stroke(path)
    }
    b.globalAlpha = 1
    this.curveHit = drawn.map((d) => ({
      key: d.key,
      label: d.members.length > 1 && !this.groupKey ? d.members.join(' = ') : d.label,
      color: d.color,
      x: d.x,
      y: d.y,
    }))
    this.paintCurves(null)
    // legend: every group, or the curves that coincide (named together), or a count
    const legend: HTMLElement[] = []
    const same = drawn.filter((d) => d.members.length > 1)
    if (this.groupKey || drawn.length <= 24)
      for (const d of drawn.slice(0, 60)) {
        const sw = el('span', 'swatch')
        sw.style.background = d.color
        legend.push(el('span', { class: 'legend-item', attrs: { 'data-key': d.key } }, sw, this.groupKey ? d.label : d.members.join(' = ')))
      }
    else legend.push(el('span', 'muted', `${rows.length} runs, ${drawn.length} distinct curves`))
    if (!this.groupKey && same.length && drawn.length > 24)
      for (const d of same.slice(0, 12))
        legend.push(
          el(
            'span',
            { class: 'legend-item coincide', attrs: { 'data-key': d.key } },
            `identical: ${d.members.slice(0, 8).join(' = ')}${d.members.length > 8 ? ` and ${d.members.length - 8} more` : ''}`,
          ),
        )
    this.curveLegend.replaceChildren(...legend)
    // a point on the first curve, for tests and keyboardless checks of the hover
    const f = drawn[0]
    if (f?.x.length) {
      const m = Math.floor(f.x.length / 2)
      c.dataset.probe = `${Math.round(sx(f.x[m]))},${Math.round(sy(f.y[m]))}`
    }
    c.dataset.curves = String(drawn.length)
    c.dataset.runs = String(rows.length)
    c.dataset.ms = String(Math.round(performance.now() - t0))
  }

  private paintCurves(hit: number | null) {
    const { ctx, c } = this.cv
    const w = c.clientWidth || 900
    const h = c.clientHeight || 320
    ctx.clearRect(0, 0, w, h)
    if (!this.curveBase || !this.curveScale) return
    ctx.save()
    ctx.setTransform(1, 0, 0, 1, 0, 0)
    ctx.globalAlpha = hit === null ? 1 : 0.25
    ctx.drawImage(this.curveBase, 0, 0)
    ctx.restore()
    if (hit === null) {
      this.curveTip.textContent = ''
      delete c.dataset.hover
      return
    }
    const d = this.curveHit[hit]
    const { sx, sy } = this.curveScale
    ctx.globalAlpha = 1
    ctx.strokeStyle = d.color
    ctx.lineWidth = 2.5
    ctx.beginPath()
    for (let i = 0; i < d.x.length; i++) (i ? ctx.lineTo : ctx.moveTo).call(ctx, sx(d.x[i]), sy(d.y[i]))
    ctx.stroke()
    this.curveTip.textContent = d.label
    c.dataset.hover = d.label
  }

  private wireCurves() {
    const c = this.cv.c
    let frame = 0
    let last: MouseEvent | null = null
    c.addEventListener('mousemove', (e: MouseEvent) => {
      last = e
      if (frame) return
      frame = requestAnimationFrame(() => {
        frame = 0
        if (last) this.paintCurves(this.nearest(last))
      })
    })
    c.addEventListener('mouseleave', () => this.paintCurves(null))
  }

  /** The curve nearest the pointer (within 12 px), by each curve's point nearest in x. */
  private nearest(e: MouseEvent): number | null {
    if (!this.curveScale) return null
    const r = this.cv.c.getBoundingClientRect()
    const px = e.clientX - r.left
    const py = e.clientY - r.top
    const { sx, sy } = this.curveScale
    let best = 12
    let hit: number | null = null
    this.curveHit.forEach((d, k) => {
      const n = d.x.length
      if (!n) return
      // binary search the step under the pointer
      let lo = 0
      let hi = n - 1
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1
        if (sx(d.x[mid]) < px) lo = mid
        else hi = mid
      }
      for (const i of [lo, hi]) {
        const dist = Math.hypot(sx(d.x[i]) - px, sy(d.y[i]) - py)
        if (dist < best) (best = dist), (hit = k)
      }
      if (lo + 1 < n) {
        // distance to the segment's line at px
        const xa = sx(d.x[lo])
        const xb = sx(d.x[lo + 1])
        if (xb > xa && px >= xa && px <= xb) {
          const yv = sy(d.y[lo]) + ((px - xa) / (xb - xa)) * (sy(d.y[lo + 1]) - sy(d.y[lo]))
          if (Math.abs(yv - py) < best) (best = Math.abs(yv - py)), (hit = k)
        }
      }
    })
    return hit
  }
}
