/**
 * DVC's plots that are not step series: images (`dvclive/plots/images/`), and data plots
 * drawn with DVC's templates from the JSON DVCLive writes (`dvclive/plots/sklearn/`,
 * `dvclive/plots/custom/`): `confusion` (and `confusion_normalized`) as a matrix of
 * counts, `linear`/`simple`/`default`/`smooth` as lines, `scatter` as dots. The template
 * and fields come from dvc.yaml's plot definition, or else from DVCLive's defaults for
 * the file's name (its `get_properties()`). Pure and free of node imports: the server,
 * the page and the report share it.
 */
import { h, type VNode } from './html.js'
import { lineChart, type Line } from './chart.js'
import type { DvcPlotDef } from '../core/dvc/plot-def.js'

export interface ImagePlot {
  path: string
  /** the path under the images folder, as DVC titles it */
  name: string
  mime: string
  /** base64 of the bytes */
  data: string
}

export interface DataPlot {
  path: string
  name: string
  template: string
  x: string
  y: string
  title: string
  x_label: string
  y_label: string
  rows: Array<Record<string, unknown>>
}

export interface RunPlots {
  images: ImagePlot[]
  plots: DataPlot[]
}

export const IMAGE_TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml' }
/** Folders DVCLive writes plots into, shown without a dvc.yaml. */
export const DVCLIVE_PLOT_DIRS = ['dvclive/plots/images', 'dvclive/plots/sklearn', 'dvclive/plots/custom']

/** DVCLive's properties for its sklearn plots (dvclive/plots/sklearn.py, get_properties). */
const SKLEARN: Record<string, Omit<DataPlot, 'path' | 'name' | 'rows'>> = {
  confusion_matrix: { template: 'confusion', x: 'actual', y: 'predicted', title: 'Confusion Matrix', x_label: 'True Label', y_label: 'Predicted Label' },
  roc: {
    template: 'simple',
    x: 'fpr',
    y: 'tpr',
    title: 'Receiver operating characteristic (ROC)',
    x_label: 'False Positive Rate',
    y_label: 'True Positive Rate',
  },
  precision_recall: { template: 'simple', x: 'recall', y: 'precision', title: 'Precision-Recall Curve', x_label: 'Recall', y_label: 'Precision' },
  det: { template: 'simple', x: 'fpr', y: 'fnr', title: 'Detection error tradeoff (DET)', x_label: 'False Positive Rate', y_label: 'False Negative Rate' },
  calibration: {
    template: 'simple',
    x: 'prob_pred',
    y: 'prob_true',
    title: 'Calibration Curve',
    x_label: 'Mean Predicted Probability',
    y_label: 'Fraction of Positives',
  },
}

export function imageType(path: string): string | undefined {
  return IMAGE_TYPES[path.slice(path.lastIndexOf('.') + 1).toLowerCase()]
}

/** The plot definition that covers a file: its own, else its folder's (DVC's rule). */
export function defFor(defs: DvcPlotDef[], path: string): DvcPlotDef | undefined {
  return defs.find((d) => d.id === path || d.files?.includes(path)) ?? defs.find((d) => !d.files && path.startsWith(d.id.replace(/\/+$/, '') + '/'))
}

/** DVC reads a data file as its rows: a list, or the first list in an object (`{"roc": [...]}`). */
export function plotRows(doc: unknown): Array<Record<string, unknown>> {
  const list = Array.isArray(doc) ? doc : doc && typeof doc === 'object' ? Object.values(doc as object).find(Array.isArray) : undefined
  return (list ?? []).filter((r): r is Record<string, unknown> => !!r && typeof r === 'object' && !Array.isArray(r))
}

/**
 * A data plot from a file's parsed JSON and the dvc.yaml definition that covers it (or
 * DVCLive's defaults for `confusion_matrix`, `roc`, ...; else `linear` over the first
 * two fields). Null when the file holds no rows.
 *
 * @example
 * dataPlot('dvclive/plots/sklearn/confusion_matrix.json', [{ actual: '0', predicted: '1' }], undefined)?.template // 'confusion'
 */
export function dataPlot(path: string, doc: unknown, def: DvcPlotDef | undefined): DataPlot | null {
  const rows = plotRows(doc)
  if (!rows.length) return null
  const stem = path.slice(path.lastIndexOf('/') + 1).replace(/\.[^.]+$/, '')
  // DVCLive names a custom-named sklearn plot by its file; the data's key says its kind
  const kind = SKLEARN[stem]
    ? stem
    : doc && !Array.isArray(doc) && typeof doc === 'object'
      ? Object.keys(doc).find((k) => SKLEARN[k])
      : 'actual' in rows[0] && 'predicted' in rows[0]
        ? 'confusion_matrix'
        : undefined
  const base = kind ? SKLEARN[kind] : undefined
  const fields = Object.keys(rows[0])
  const x = def?.x ?? base?.x ?? fields[0]
  const y = def?.y ?? base?.y ?? fields[1] ?? fields[0]
  const name = path.replace(/^.*?plots\/(sklearn|custom)\//, '').replace(/\.[^.]+$/, '')
  return {
    path,
    name,
    template: def?.template ?? base?.template ?? 'linear',
    x,
    y,
    title: def?.title ?? base?.title ?? name,
    x_label: def?.x_label ?? base?.x_label ?? x,
    y_label: def?.y_label ?? base?.y_label ?? y,
    rows,
  }
}

const num = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN
  return Number.isFinite(n) ? n : null
}

/** Counts of (x, y) pairs: the confusion matrix DVC's `confusion` template draws. Pure. */
export function confusionCounts(rows: Array<Record<string, unknown>>, x: string, y: string): { xs: string[]; ys: string[]; count: Map<string, number> } {
  const count = new Map<string, number>()
  const xs = new Set<string>()
  const ys = new Set<string>()
  for (const r of rows) {
    const a = String(r[x])
    const b = String(r[y])
    xs.add(a)
    ys.add(b)
    const k = `${a}\u0000${b}`
    count.set(k, (count.get(k) ?? 0) + 1)
  }
  // DVC's template sorts both axes ascending
  const sort = (s: Set<string>) => [...s].sort((p, q) => (num(p) !== null && num(q) !== null ? num(p)! - num(q)! : p < q ? -1 : p > q ? 1 : 0))
  return { xs: sort(xs), ys: sort(ys), count }
}

/** A confusion matrix as SVG: true labels across (x), predicted down (y), counts in the cells. */
export function confusionChart(p: DataPlot, label: string, color = '#1f77b4'): VNode {
  const { xs, ys, count } = confusionCounts(p.rows, p.x, p.y)
  const normalized = p.template === 'confusion_normalized'
  const cell = Math.max(28, Math.min(64, Math.floor(360 / Math.max(xs.length, ys.length, 1))))
  const left = 64
  const top = 62
  const w = Math.max(left + cell * xs.length + 16, 220)
  const hgt = top + cell * ys.length + 40
  let max = 0
  for (const v of count.values()) max = Math.max(max, v)
  const colTotal = (a: string) => ys.reduce((s, b) => s + (count.get(`${a}\u0000${b}`) ?? 0), 0)
  const parts: VNode[] = [h('text', { x: 8, y: 16, class: 'chart-title' }, `${p.title}${label ? ` (${label})` : ''}`)]
  ys.forEach((b, j) => {
    parts.push(h('text', { x: left - 6, y: top + j * cell + cell / 2, class: 'tick', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, b))
    xs.forEach((a, i) => {
      const n = count.get(`${a}\u0000${b}`) ?? 0
      const v = normalized ? (colTotal(a) ? n / colTotal(a) : 0) : n
      const share = normalized ? v : max ? n / max : 0
      const text = normalized ? v.toFixed(2) : String(n)
      parts.push(
        h(
          'rect',
          {
            x: left + i * cell,
            y: top + j * cell,
            width: cell - 1,
            height: cell - 1,
            fill: color,
            'fill-opacity': (0.08 + 0.85 * share).toFixed(3),
            class: 'cm-cell',
            'data-actual': a,
            'data-predicted': b,
            'data-count': n,
          },
          h('title', {}, `${p.x_label} ${a}, ${p.y_label} ${b}: ${text}`),
        ),
        h(
          'text',
          {
            x: left + i * cell + cell / 2,
            y: top + j * cell + cell / 2,
            class: 'cm-count',
            'text-anchor': 'middle',
            'dominant-baseline': 'middle',
            fill: share > 0.55 ? '#fff' : '#1d2330',
          },
          text,
        ),
      )
    })
  })
  xs.forEach((a, i) => {
    parts.push(h('text', { x: left + i * cell + cell / 2, y: top - 6, class: 'tick', 'text-anchor': 'middle' }, a))
  })
  parts.push(h('text', { x: left + (cell * xs.length) / 2, y: top - 24, class: 'axis-label', 'text-anchor': 'middle' }, p.x_label))
  const midY = top + (cell * ys.length) / 2
  parts.push(h('text', { x: 18, y: midY, class: 'axis-label', 'text-anchor': 'middle', transform: `rotate(-90 18 ${midY})` }, p.y_label))
  return h('svg', { viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, class: 'chart confusion', role: 'img', 'data-template': p.template }, ...parts)
}

/** Dots of (x, y) per run, drawn in the line chart's frame with no lines. */
function scatterOf(p: DataPlot, runs: Array<{ label: string; color: string; plot: DataPlot }>): VNode {
  const lines: Line[] = runs.map((r) => ({ label: r.label, color: r.color, x: [], y: [] }))
  runs.forEach((r, i) => {
    for (const row of r.plot.rows) {
      const x = num(row[p.x])
      const y = num(row[p.y])
      if (x !== null && y !== null) lines[i].x.push(x), lines[i].y.push(y)
    }
  })
  const chart = lineChart(p.title, lines, { xLabel: p.x_label })
  // keep the frame, replace each polyline by its points
  chart.children = chart.children.flatMap((c) => {
    if (typeof c === 'string' || c.tag !== 'polyline') return [c]
    const pts = String(c.attrs.points ?? '')
      .split(' ')
      .filter(Boolean)
    return pts.map((pt) => {
      const [cx, cy] = pt.split(',')
      return h('circle', { cx, cy, r: 3, fill: c.attrs.stroke, class: 'dot' })
    })
  })
  chart.attrs['data-template'] = p.template
  return chart
}

/**
 * Draw one data plot for one or more runs with DVC's template: a confusion matrix per
 * run, or lines/dots of all runs overlaid.
 */
export function drawDataPlot(runs: Array<{ label: string; color: string; plot: DataPlot }>): VNode[] {
  const p = runs[0].plot
  if (/^confusion/.test(p.template)) return runs.map((r) => confusionChart(r.plot, runs.length > 1 ? r.label : '', r.color))
  if (p.template === 'scatter' || p.template === 'scatter_jitter') return [scatterOf(p, runs)]
  const lines: Line[] = runs.map((r) => {
    const x: number[] = []
    const y: number[] = []
    r.plot.rows.forEach((row, i) => {
      const xv = num(row[r.plot.x]) ?? i
      const yv = num(row[r.plot.y])
      if (yv !== null) x.push(xv), y.push(yv)
    })
    return { label: r.label, color: r.color, x, y }
  })
  const chart = lineChart(p.title, lines, { xLabel: p.x_label })
  chart.attrs['data-template'] = p.template
  return [chart]
}

/** An image as an <img> with a data: URI (the page's CSP allows `img-src data:`; the report stays one file). */
export function imageNode(img: ImagePlot, caption: string): VNode {
  return h(
    'figure',
    { class: 'plot-image', 'data-path': img.path },
    h('img', { src: `data:${img.mime};base64,${img.data}`, alt: img.name }),
    h('figcaption', {}, caption),
  )
}
