/**
 * Pure table logic shared by the page and the report: which columns exist, how cells
 * compare and sort, and which keys differ between runs. Free of node imports.
 */

export type Cell = string | number | boolean | null | undefined

/** What the page and the report need of a run (a slim ListedRun). */
export interface RunRow {
  id: string
  name: string
  status: string
  started: string
  duration_s: number
  commit: string
  baseline: string | null
  params: Record<string, Cell>
  metrics: Record<string, Cell>
  notes?: string
}

/** Keys present in any run, sorted: `params.lr`, `metrics.acc`, ... */
export function columnKeys(runs: RunRow[], group: 'params' | 'metrics'): string[] {
  const keys = new Set<string>()
  for (const r of runs) for (const k in r[group]) keys.add(k)
  return [...keys].sort()
}

/** A column value: `name`, `status`, `created`, `duration_s`, `params.X`, `metrics.X`. */
export function cellValue(r: RunRow, col: string): Cell {
  if (col.startsWith('params.')) return r.params[col.slice(7)]
  if (col.startsWith('metrics.')) return r.metrics[col.slice(8)]
  if (col === 'created') return r.started
  return (r as unknown as Record<string, Cell>)[col]
}

/** Missing values sort last whatever the direction; numbers before strings. */
export function compareCells(a: Cell, b: Cell): number {
  const am = a === null || a === undefined || a === ''
  const bm = b === null || b === undefined || b === ''
  if (am || bm) return am === bm ? 0 : am ? 1 : -1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'number') return -1
  if (typeof b === 'number') return 1
  const as = String(a)
  const bs = String(b)
  return as < bs ? -1 : as > bs ? 1 : 0
}

/**
 * Sort runs by a column (stable), missing values last in both directions.
 *
 * @example
 * sortRuns(runs, 'metrics.acc', 'desc')
 */
export function sortRuns<T extends RunRow>(runs: T[], col: string, dir: 'asc' | 'desc'): T[] {
  const sign = dir === 'asc' ? 1 : -1
  const keyed = runs.map((r, i) => ({ r, i, v: cellValue(r, col) }))
  keyed.sort((x, y) => {
    const xm = x.v === null || x.v === undefined || x.v === ''
    const ym = y.v === null || y.v === undefined || y.v === ''
    if (xm || ym) return xm === ym ? x.i - y.i : xm ? 1 : -1
    return sign * compareCells(x.v, y.v) || x.i - y.i
  })
  return keyed.map((k) => k.r)
}

/** Keys of a group whose values are not all equal across the runs. */
export function changedKeys(runs: RunRow[], group: 'params' | 'metrics'): Set<string> {
  const out = new Set<string>()
  for (const k of columnKeys(runs, group)) {
    const first = JSON.stringify(runs[0]?.[group][k] ?? null)
    if (runs.some((r) => JSON.stringify(r[group][k] ?? null) !== first)) out.add(k)
  }
  return out
}

/** A cell as text: numbers to at most 6 significant digits. */
export function formatCell(v: Cell): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)))
  return String(v)
}

/** `12.3s`, `4m 05s`, `2h 03m`. */
export function formatDuration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return ''
  if (s < 60) return `${Number(s.toFixed(1))}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** `2026-11-23 15:30` in UTC, so the page and the report read the same. */
export function formatTime(iso: string): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : ''
}
