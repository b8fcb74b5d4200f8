/**
 * Step metrics (series) from the files a run recorded: TSV or CSV with a header row, or
 * JSONL, as DVCLive writes them (`dvclive/plots/metrics/loss.tsv` with `step` and `loss`).
 * Pure and free of node imports: the server, the report and the page share it.
 */

/** One metric over steps: `x[i]` is the step (or row number), `y[i]` the value. */
export interface Curve {
  x: number[]
  y: number[]
}

/** Every curve of one run, by metric name. */
export type RunSeries = Record<string, Curve>

/** Columns that are steps or clocks, never plotted as metrics. */
const X_COLUMNS = ['step', 'epoch', 'iteration', 'iter']
const SKIP_COLUMNS = new Set(['timestamp', 'time', 'wall_time'])

/** Past this many points a curve is thinned (evenly, keeping the last point) for the browser. */
export const MAX_POINTS = 5000

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v !== 'string' || v.trim() === '') return null
  const n = Number(v)
  return Number.isFinite(n) ? n : null
}

function splitLine(line: string, sep: string): string[] {
  if (sep === '\t' || !line.includes('"')) return line.split(sep).map((c) => c.trim())
  // CSV with quotes: enough of RFC 4180 for headers like "val,acc"
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (cur += '"'), i++
      else if (ch === '"') quoted = false
      else cur += ch
    } else if (ch === '"') quoted = true
    else if (ch === sep) out.push(cur.trim()), (cur = '')
    else cur += ch
  }
  out.push(cur.trim())
  return out
}

/** Rows of a file as objects: JSONL, or a delimited table with a header row. */
function rows(text: string, path: string): Array<Record<string, unknown>> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '')
  if (!lines.length) return []
  if (/\.jsonl?$/i.test(path) || lines[0].trimStart().startsWith('{')) {
    const out: Array<Record<string, unknown>> = []
    for (const l of lines) {
      try {
        const v = JSON.parse(l)
        if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v)
      } catch {
        // a torn last line (the run was killed mid-write) is skipped
      }
    }
    return out
  }
  const sep = /\.tsv$/i.test(path) || lines[0].includes('\t') ? '\t' : ','
  const header = splitLine(lines[0], sep)
  return lines.slice(1).map((l) => {
    const cells = splitLine(l, sep)
    const o: Record<string, unknown> = {}
    for (const [i, h] of header.entries()) o[h] = cells[i]
    return o
  })
}

/** Keep at most `max` points, evenly spaced, always with the first and the last. */
export function thin(c: Curve, max = MAX_POINTS): Curve {
  const n = c.x.length
  if (n <= max) return c
  const x: number[] = []
  const y: number[] = []
  for (let k = 0; k < max; k++) {
    const i = Math.round((k * (n - 1)) / (max - 1))
    x.push(c.x[i])
    y.push(c.y[i])
  }
  return { x, y }
}

/**
 * Parse one series file into curves, one per numeric column other than the step.
 *
 * @example
 * parseSeries('step\tloss\n0\t1.5\n1\t0.9\n', 'dvclive/plots/metrics/loss.tsv')
 * // { loss: { x: [0, 1], y: [1.5, 0.9] } }
 */
export function parseSeries(text: string, path: string): RunSeries {
  const rs = rows(text, path)
  const out: RunSeries = {}
  if (!rs.length) return out
  const keys = [...new Set(rs.flatMap((r) => Object.keys(r)))]
  const xKey = X_COLUMNS.find((k) => keys.includes(k))
  for (const key of keys) {
    if (key === xKey || SKIP_COLUMNS.has(key) || key === '') continue
    const c: Curve = { x: [], y: [] }
    rs.forEach((r, i) => {
      const y = toNumber(r[key])
      const x = xKey ? toNumber(r[xKey]) : i
      if (y !== null && x !== null) c.x.push(x), c.y.push(y)
    })
    if (c.x.length) out[key] = thin(c)
  }
  return out
}

/**
 * The name prefix of a DVCLive metrics file: the folders between `plots/metrics/` (DVCLive
 * 2-3; `scalars/` in 1.x) and the file, as `live.log_metric("train/loss")` wrote them.
 *
 * @example
 * dvcliveFolder('dvclive/plots/metrics/train/loss.tsv') // 'train/'
 */
export function dvcliveFolder(path: string): string {
  const m = /(?:^|\/)(?:plots\/metrics|scalars)\/(.+\/)?[^/]+$/.exec(path)
  return m?.[1] ?? ''
}

/**
 * Merge the curves of a run's files. A curve from DVCLive's folders is named as DVCLive
 * logged it and DVC's plots title it (`train/loss`, `val/loss`, `acc`); a name already
 * taken by an earlier file is kept apart as `path:name`, so two files never overwrite
 * each other.
 */
export function mergeSeries(files: Array<{ path: string; series: RunSeries }>): RunSeries {
  const out: RunSeries = {}
  for (const f of files) {
    const prefix = dvcliveFolder(f.path)
    for (const [col, c] of Object.entries(f.series)) {
      const k = prefix + col
      if (out[k]) out[`${f.path}:${col}`] = c
      else out[k] = c
    }
  }
  return out
}
