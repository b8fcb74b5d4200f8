/**
 * Charts as SVG element trees (see html.ts): overlaid line charts for series and a
 * scatter of a param against a metric. Our own SVG rather than a canvas library, so the
 * same code draws the live page and the self-contained report, and tests can count points.
 * Free of node imports.
 */
import { h, type VNode } from './html.js'

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22']

export interface Line {
  label: string
  color: string
  x: number[]
  y: number[]
}

export interface ChartOptions {
  width?: number
  height?: number
  xLabel?: string
}

const PAD = { left: 56, right: 12, top: 26, bottom: 34 }

/** "Nice" tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo]
  const raw = (hi - lo) / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

export function fmt(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v)
  const a = Math.abs(v)
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2)
  return String(Number(v.toPrecision(4)))
}

function extent(vs: number[], pad = 0): [number, number] {
  let lo = Infinity
  let hi = -Infinity
  for (const v of vs) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  if (lo === Infinity) return [0, 1]
  if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.5, hi + (Math.abs(hi) || 1) * 0.5]
  const d = (hi - lo) * pad
  return [lo - d, hi + d]
}

/** Axes, grid and the scale functions of a plot area. */
function frame(xs: number[], ys: number[], w: number, hgt: number, title: string, xLabel: string, pad: { x: number; y: number }) {
  const [x0, x1] = extent(xs, pad.x)
  const [y0, y1] = extent(ys, pad.y)
  const iw = w - PAD.left - PAD.right
  const ih = hgt - PAD.top - PAD.bottom
  const sx = (v: number) => PAD.left + ((v - x0) / (x1 - x0)) * iw
  const sy = (v: number) => PAD.top + ih - ((v - y0) / (y1 - y0)) * ih
  const parts: VNode[] = [h('text', { x: PAD.left, y: 16, class: 'chart-title' }, title)]
  for (const t of ticks(y0, y1)) {
    const y = sy(t).toFixed(1)
    parts.push(h('line', { x1: PAD.left, x2: w - PAD.right, y1: y, y2: y, class: 'grid' }))
    parts.push(h('text', { x: PAD.left - 6, y, class: 'tick', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, fmt(t)))
  }
  for (const t of ticks(x0, x1)) {
    const x = sx(t).toFixed(1)
    parts.push(h('line', { x1: x, x2: x, y1: PAD.top, y2: PAD.top + ih, class: 'grid' }))
    parts.push(h('text', { x, y: PAD.top + ih + 14, class: 'tick', 'text-anchor': 'middle' }, fmt(t)))
  }
  parts.push(h('rect', { x: PAD.left, y: PAD.top, width: iw, height: ih, class: 'plot-area' }))
  parts.push(h('text', { x: PAD.left + iw / 2, y: hgt - 4, class: 'axis-label', 'text-anchor': 'middle' }, xLabel))
  return { sx, sy, parts }
}

/**
 * Overlaid line chart: one polyline per run (its name as a tooltip; the legend is the
 * caller's); `data-points` holds its point count.
 *
 * @example
 * toHtml(lineChart('loss', [{ label: 'a', color: '#000', x: [0, 1], y: [2, 1] }]))
 */
export function lineChart(title: string, lines: Line[], opts: ChartOptions = {}): VNode {
  const w = opts.width ?? 560
  const hgt = opts.height ?? 300
  const { sx, sy, parts } = frame(
    lines.flatMap((l) => l.x),
    lines.flatMap((l) => l.y),
    w,
    hgt,
    title,
    opts.xLabel ?? 'step',
    { x: 0, y: 0.04 },
  )
  lines.forEach((l) => {
    const pts = l.x.map((x, j) => `${sx(x).toFixed(1)},${sy(l.y[j]).toFixed(1)}`).join(' ')
    parts.push(
      h(
        'polyline',
        { points: pts, fill: 'none', stroke: l.color, 'stroke-width': 1.6, class: 'series-line', 'data-run': l.label, 'data-points': l.x.length },
        h('title', {}, l.label),
      ),
    )
    if (l.x.length === 1) parts.push(h('circle', { cx: sx(l.x[0]).toFixed(1), cy: sy(l.y[0]).toFixed(1), r: 3, fill: l.color }))
  })
  return h('svg', { viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, class: 'chart', role: 'img' }, ...parts)
}

export interface Point {
  label: string
  x: number
  y: number
  color: string
}

/** Scatter of a param (x) against a metric (y), one dot per run with its name as a tooltip. */
export function scatterChart(title: string, points: Point[], xLabel: string, opts: ChartOptions = {}): VNode {
  const w = opts.width ?? 560
  const hgt = opts.height ?? 300
  const { sx, sy, parts } = frame(
    points.map((p) => p.x),
    points.map((p) => p.y),
    w,
    hgt,
    title,
    xLabel,
    { x: 0.06, y: 0.08 },
  )
  for (const p of points)
    parts.push(
      h(
        'circle',
        { cx: sx(p.x).toFixed(1), cy: sy(p.y).toFixed(1), r: 4, fill: p.color, class: 'dot' },
        h('title', {}, `${p.label}: ${xLabel}=${fmt(p.x)}, ${fmt(p.y)}`),
      ),
    )
  return h('svg', { viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, class: 'chart', role: 'img' }, ...parts)
}
