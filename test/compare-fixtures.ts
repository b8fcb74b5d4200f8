/** Runs for the unit tests of src/core/compare (no git needed). */
import type { ListedRun } from '../src/core/runs/list.js'
import type { Flat } from '../src/core/params.js'

let n = 0
export function run(over: Partial<ListedRun> & { params?: Flat; metrics?: Flat } = {}): ListedRun {
  n++
  const id = `01m8${String(n).padStart(4, '0')}aaaaaaaaaaaa`
  return {
    xp: 1,
    id,
    name: `run-${n}`,
    status: 'succeeded',
    exit_code: 0,
    command: 'node train.js',
    started: '2026-11-23T15:30:00.000Z',
    ended: '2026-11-23T15:30:12.000Z',
    duration_s: 12,
    baseline: 'b'.repeat(40),
    branch: 'main',
    params: {},
    metrics: {},
    series: [],
    deps: {},
    outs: {},
    env: {},
    commit: 'c'.repeat(40),
    ref: `refs/xp/runs/${id}`,
    ...over,
  }
}

/** The XpError code a call throws, or 'no error'. */
export function thrownCode(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    return (e as { code?: string }).code ?? String(e)
  }
  return 'no error'
}
