/**
 * The rows and columns of `xp show`: pick and order runs (sort, limit), then lay out the
 * columns (name, created, status, duration, metrics, params) with DVC-like formatting.
 * Pure: the command lists runs, this decides what to show, a renderer prints it.
 */
import { XpError } from '../errors.js'
import type { ListedRun } from '../runs/record.js'
import { FIELD_KEYS, keyValue } from './filter.js'
import { formatCreated, formatDuration, formatValue } from './format.js'
import { userTags } from './diff.js'

export type SortOrder = 'asc' | 'desc'

export interface SortOptions {
  /** `metrics.acc`, `acc` (a metric, else a param), `params.lr`, `created`, `name`, ... */
  sortBy?: string
  order?: SortOrder
  /** keep the first N after sorting */
  limit?: number
}

export interface Column {
  /** the full key: `name`, `created`, `metrics.acc`, `params.lr` */
  key: string
  /** what a person reads in the header: the key without its group unless that clashes */
  label: string
  kind: 'field' | 'metric' | 'param' | 'tag'
  numeric: boolean
}

export interface ShowTable {
  columns: Column[]
  runs: ListedRun[]
  /** raw values, `undefined` where a run lacks the key */
  values: unknown[][]
  /** the same values as table text */
  text: string[][]
}

const FIELD_COLUMNS: Column[] = [
  { key: 'name', label: 'name', kind: 'field', numeric: false },
  { key: 'created', label: 'created', kind: 'field', numeric: false },
  { key: 'status', label: 'status', kind: 'field', numeric: false },
  { key: 'duration_s', label: 'duration', kind: 'field', numeric: true },
]

/** Every key a sort or a filter can name, over these runs. */
export function knownKeys(runs: ListedRun[]): Set<string> {
  const keys = new Set(Object.keys(FIELD_KEYS))
  for (const r of runs) {
    for (const k in r.metrics) keys.add(`metrics.${k}`)
    for (const k in r.params) keys.add(`params.${k}`)
    for (const k in r.tags ?? {}) keys.add(`tags.${k}`)
  }
  return keys
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length]
}

/** The keys closest to a mistyped one, best first. */
export function closeKeys(key: string, known: Iterable<string>, max = 5): string[] {
  const bare = (k: string) => k.replace(/^(params|metrics)\./, '')
  const scored: Array<[number, string]> = []
  for (const k of known) {
    const d = Math.min(editDistance(key, k), editDistance(bare(key), bare(k)))
    const contains = k.includes(bare(key)) || bare(key).includes(bare(k)) || bare(k).slice(0, 2) === bare(key).slice(0, 2)
    if (d <= Math.max(2, Math.floor(key.length / 3)) || contains) scored.push([contains ? Math.min(d, 1) : d, k])
  }
  return scored
    .sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : 1))
    .slice(0, max)
    .map((s) => s[1])
}

/** A sort key as written, made full (`acc` becomes `metrics.acc`), or XP_BAD_SORT_KEY. */
export function resolveSortKey(key: string, known: Set<string>): string {
  if (key === 'duration') key = 'duration_s'
  if (known.has(key)) return key
  if (known.has(`metrics.${key}`)) return `metrics.${key}`
  if (known.has(`params.${key}`)) return `params.${key}`
  const near = closeKeys(key, known)
  throw new XpError('XP_BAD_SORT_KEY', `no run has the key ${JSON.stringify(key)} to sort by${near.length ? `; close keys: ${near.join(', ')}` : ''}`, {
    hint: 'sort by metrics.NAME, params.NAME, name, created, status or duration_s',
    data: { key, close: near },
  })
}

function compareValues(a: unknown, b: unknown): number {
  const ta = typeof a === 'number' ? 0 : typeof a === 'string' ? 1 : 2
  const tb = typeof b === 'number' ? 0 : typeof b === 'string' ? 1 : 2
  if (ta !== tb) return ta - tb
  if (ta === 0) return (a as number) - (b as number)
  const sa = String(a)
  const sb = String(b)
  return sa < sb ? -1 : sa > sb ? 1 : 0
}

/**
 * Order and cut runs for showing. Runs arrive newest first (as `listRuns` gives them);
 * with no sort key `asc` shows oldest first. A sort key sorts descending for metrics and
 * `created`, ascending otherwise, unless an order is given; runs lacking the key go last.
 * `universe` is the set of runs whose keys count as known (all runs, before a filter).
 *
 * @example
 * sortRuns(runs, { sortBy: 'acc', limit: 5 }) // the five best by metrics.acc
 */
export function sortRuns(runs: ListedRun[], opts: SortOptions, universe: ListedRun[] = runs): ListedRun[] {
  let out = runs.slice()
  if (opts.sortBy) {
    const key = resolveSortKey(opts.sortBy, knownKeys(universe))
    const order = opts.order ?? (key.startsWith('metrics.') || key === 'created' || key === 'started' || key === 'ended' ? 'desc' : 'asc')
    const sign = order === 'desc' ? -1 : 1
    const withValue = out.map((r, i) => ({ r, i, v: keyValue(r, key) }))
    withValue.sort((x, y) => {
      const mx = x.v === undefined || x.v === null
      const my = y.v === undefined || y.v === null
      if (mx || my) return mx && my ? x.i - y.i : mx ? 1 : -1
      return sign * compareValues(x.v, y.v) || x.i - y.i
    })
    out = withValue.map((w) => w.r)
  } else if (opts.order === 'asc') out.reverse()
  if (opts.limit !== undefined && opts.limit >= 0) out = out.slice(0, opts.limit)
  return out
}

const own = (o: object, k: string) => Object.hasOwn(o, k)

/** A fast reader for one column's key (keyValue parses the key on every call). */
function accessor(key: string): (r: ListedRun) => unknown {
  if (key.startsWith('metrics.')) {
    const k = key.slice(8)
    return (r) => (own(r.metrics, k) ? r.metrics[k] : undefined)
  }
  if (key.startsWith('params.')) {
    const k = key.slice(7)
    return (r) => (own(r.params, k) ? r.params[k] : undefined)
  }
  return (r) => keyValue(r, key)
}

/**
 * The columns and cells for these runs: fields, then every metric, then every param
 * (each group sorted by key, so nested keys sit together), then notes if any run has some. `onlyChanged` drops metric and param columns whose value is
 * the same in every run shown. `project` adds the project each run belongs to after its
 * name (`xp show --all-projects`): its folder, `.` for the root project, `-` for a run
 * recorded before runs had a project.
 *
 * @example
 * const t = buildTable(sortRuns(runs, { sortBy: 'acc' }), { onlyChanged: true })
 * t.columns.map((c) => c.label) // ['name', 'created', 'status', 'duration', 'acc', 'lr']
 */
export function buildTable(runs: ListedRun[], opts: { onlyChanged?: boolean; project?: boolean } = {}): ShowTable {
  const metricKeys = new Set<string>()
  const paramKeys = new Set<string>()
  const tagKeys = new Set<string>()
  for (const r of runs) {
    for (const k in r.metrics) metricKeys.add(k)
    for (const k in r.params) paramKeys.add(k)
    if (r.tags) for (const k in userTags(r.tags)) tagKeys.add(k)
  }
  let dataColumns: Column[] = [
    ...[...metricKeys].sort().map((k): Column => ({ key: `metrics.${k}`, label: paramKeys.has(k) ? `metrics.${k}` : k, kind: 'metric', numeric: true })),
    ...[...paramKeys].sort().map((k): Column => ({ key: `params.${k}`, label: metricKeys.has(k) ? `params.${k}` : k, kind: 'param', numeric: true })),
    ...[...tagKeys].sort().map((k): Column => ({ key: `tags.${k}`, label: `tags.${k}`, kind: 'tag', numeric: false })),
  ]
  const read = new Map(dataColumns.map((c) => [c.key, accessor(c.key)]))
  if (opts.onlyChanged && runs.length)
    dataColumns = dataColumns.filter((c) => {
      const get = read.get(c.key)!
      const first = get(runs[0])
      return !runs.every((r) => get(r) === first)
    })
  for (const c of dataColumns) {
    const get = read.get(c.key)!
    c.numeric = runs.every((r) => {
      const v = get(r)
      return v === undefined || v === null || typeof v === 'number'
    })
  }
  const fields = FIELD_COLUMNS.map((c) => ({ ...c }))
  if (opts.project) {
    fields.splice(1, 0, { key: 'project', label: 'project', kind: 'field', numeric: false })
    // read from the record, never a param or metric named `project` (keyValue's bare-name fallback)
    read.set('project', (r) => r.project)
  }
  const columns = [...fields, ...dataColumns]
  // notes are added after a run is recorded (git notes); shown last, only when there are some
  if (runs.some((r) => r.notes)) columns.push({ key: 'notes', label: 'notes', kind: 'field', numeric: false })
  const getters = columns.map((c) => read.get(c.key) ?? accessor(c.key))
  const values = runs.map((r) => getters.map((get) => get(r)))
  const text = values.map((row) =>
    row.map((v, i) => {
      const key = columns[i].key
      if (key === 'created') return formatCreated(v as string | undefined)
      if (key === 'duration_s') return formatDuration(v as number | undefined)
      if (key === 'notes') return typeof v === 'string' ? v : ''
      if (key === 'project' && v === '') return '.'
      return formatValue(v)
    }),
  )
  return { columns, runs, values, text }
}
