/**
 * What the page and the report need of runs, over the pure code of `xp show`
 * (core/compare: key values, sorting, formatting), plus the keys that differ between N
 * runs. Free of node imports.
 */
import type { ListedRun } from '../core/runs/record.js'
import { keyValue } from '../core/compare/filter.js'
import { sortRuns } from '../core/compare/table.js'
import { formatValue } from '../core/compare/format.js'

/** A run as the table gets it from /api/runs (a slim ListedRun). */
export type RunRow = Pick<
  ListedRun,
  'id' | 'name' | 'status' | 'started' | 'duration_s' | 'commit' | 'baseline' | 'project' | 'params' | 'metrics' | 'notes' | 'damaged'
> & {
  tags?: Record<string, string>
}

/** Keys present in any run, sorted. */
export function columnKeys(runs: RunRow[], group: 'params' | 'metrics'): string[] {
  const keys = new Set<string>()
  for (const r of runs) for (const k in r[group]) keys.add(k)
  return [...keys].sort()
}

/** A column's value: `name`, `status`, `created`, `duration_s`, `params.X`, `metrics.X` (as `xp show --filter` reads it). */
export function cellValue(r: RunRow, col: string): unknown {
  return keyValue(r as ListedRun, col)
}

/**
 * One row holding every params and metrics key of the runs: handed to sortRows as the
 * runs whose keys are known, so a sort does not look through every run's keys again.
 */
export function keyRow(runs: RunRow[]): RunRow {
  const row = { params: {}, metrics: {} } as RunRow
  for (const g of ['params', 'metrics'] as const) for (const k of columnKeys(runs, g)) row[g][k] = 0
  return row
}

/** Sort as `xp show --sort-by` does (missing values last); `known` holds the keys a sort may name. */
export function sortRows<T extends RunRow>(rows: T[], col: string, dir: 'asc' | 'desc', known: RunRow[] = rows): T[] {
  return sortRuns(rows as unknown as ListedRun[], { sortBy: col, order: dir }, known as unknown as ListedRun[]) as unknown as T[]
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

/** A cell as text, as `xp show` writes it; nothing where the run lacks the key. */
export function formatCell(v: unknown): string {
  return v === undefined ? '' : formatValue(v)
}
