/**
 * Pure helpers for many-run views (parallel coordinates, grouping, many curves): axis
 * scales over numbers or categories, mean ± std per group, and curves averaged over the
 * runs of a group. Free of node imports: the page and tests share them.
 */
import type { Curve } from './series.js'

export interface Axis {
  key: string
  kind: 'number' | 'category'
  min: number
  max: number
  /** categories in order (kind 'category') */
  cats: string[]
}

/** Scale for one column over the given values: numbers span min..max, anything else is a category. */
export function makeAxis(key: string, values: unknown[]): Axis {
  let min = Infinity
  let max = -Infinity
  let other = false
  for (const v of values) {
    if (v === undefined || v === null) continue
    if (typeof v === 'number' && Number.isFinite(v)) {
      if (v < min) min = v
      if (v > max) max = v
    } else other = true
  }
  if (!other && min !== Infinity) return { key, kind: 'number', min, max: max === min ? min + 1 : max, cats: [] }
  const cats = [...new Set(values.filter((v) => v !== undefined && v !== null).map((v) => String(v)))].sort()
  return { key, kind: 'category', min: 0, max: Math.max(1, cats.length - 1), cats }
}

/** A value's position on the axis, 0 (bottom) to 1 (top); NaN when the run lacks it. */
export function axisPos(a: Axis, v: unknown): number {
  if (v === undefined || v === null) return NaN
  if (a.kind === 'number') return typeof v === 'number' ? (v - a.min) / (a.max - a.min) : NaN
  const i = a.cats.indexOf(String(v))
  return i < 0 ? NaN : a.cats.length === 1 ? 0.5 : i / (a.cats.length - 1)
}

export interface MeanStd {
  mean: number
  std: number
  n: number
}

/** Mean and sample standard deviation (0 for one value) of the finite numbers. */
export function meanStd(values: unknown[]): MeanStd | null {
  let n = 0
  let sum = 0
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) n++, (sum += v)
  if (!n) return null
  const mean = sum / n
  let sq = 0
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) sq += (v - mean) ** 2
  return { mean, std: n > 1 ? Math.sqrt(sq / (n - 1)) : 0, n }
}

/** Runs grouped by the text of one value (`(none)` where a run lacks it, last), groups sorted by that text (numbers numerically). */
export function groupBy<T>(rows: T[], value: (r: T) => unknown): Array<{ key: string; rows: T[] }> {
  const groups = new Map<string, T[]>()
  for (const r of rows) {
    const v = value(r)
    const k = v === undefined || v === null ? '(none)' : typeof v === 'object' ? JSON.stringify(v) : String(v)
    let g = groups.get(k)
    if (!g) groups.set(k, (g = []))
    g.push(r)
  }
  const num = (k: string) => (k.trim() !== '' && Number.isFinite(Number(k)) ? Number(k) : NaN)
  return [...groups]
    .map(([key, rows]) => ({ key, rows }))
    .sort((a, b) => {
      // runs without the value last, as missing values sort in the table
      if ((a.key === '(none)') !== (b.key === '(none)')) return a.key === '(none)' ? 1 : -1
      const x = num(a.key)
      const y = num(b.key)
      if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y
      return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
    })
}

export interface Band {
  x: number[]
  mean: number[]
  lo: number[]
  hi: number[]
  /** runs that have a value at each x */
  n: number[]
}

/**
 * The mean ± std of several runs' curves at each step any of them has (seeds of one
 * config): a run missing a step does not count there.
 *
 * @example
 * meanCurve([{ x: [0, 1], y: [1, 2] }, { x: [0, 1], y: [3, 4] }]) // mean [2, 3], lo/hi ± 1.41
 */
export function meanCurve(curves: Curve[]): Band {
  const at = new Map<number, number[]>()
  for (const c of curves)
    for (let i = 0; i < c.x.length; i++) {
      let ys = at.get(c.x[i])
      if (!ys) at.set(c.x[i], (ys = []))
      ys.push(c.y[i])
    }
  const xs = [...at.keys()].sort((a, b) => a - b)
  const out: Band = { x: [], mean: [], lo: [], hi: [], n: [] }
  for (const x of xs) {
    const m = meanStd(at.get(x)!)
    if (!m) continue
    out.x.push(x)
    out.mean.push(m.mean)
    out.lo.push(m.mean - m.std)
    out.hi.push(m.mean + m.std)
    out.n.push(m.n)
  }
  return out
}

/** A key that is equal for equal curves: runs whose curves coincide share it. */
const F64 = new Float64Array(1)
const U32 = new Uint32Array(F64.buffer)
export function curveKey(c: Curve): string {
  // FNV-1a over the numbers' bits, two independent 32-bit lanes (collisions: 1 in 2^64)
  let h = 2166136261
  let g = 374761393
  const mix = (v: number) => {
    F64[0] = v
    h = Math.imul(h ^ U32[0], 16777619)
    h = Math.imul(h ^ U32[1], 16777619)
    g = Math.imul(g ^ U32[1], 2246822519) + U32[0]
  }
  for (let i = 0; i < c.x.length; i++) mix(c.x[i]), mix(c.y[i])
  return `${c.x.length}:${(h >>> 0).toString(36)}:${(g >>> 0).toString(36)}`
}

/** Curves grouped by equality, in first-seen order: each group's labels coincide. */
export function coinciding<T extends Curve & { label: string }>(curves: T[]): Array<{ curve: T; labels: string[] }> {
  const by = new Map<string, { curve: T; labels: string[] }>()
  for (const c of curves) {
    const k = curveKey(c)
    const g = by.get(k)
    if (g) g.labels.push(c.label)
    else by.set(k, { curve: c, labels: [c.label] })
  }
  return [...by.values()]
}
