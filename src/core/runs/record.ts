/**
 * The run record: YAML with one top-level key per line, each value JSON (docs/architecture.md#run-record).
 * Any YAML parser reads it; xp reads it line by line with JSON.parse (80x faster).
 */
import type { Flat } from '../values.js'
import { stringifyJson, parseJson } from '../json.js'

/** `running` and `lost` are only ever listed (a live run, core/runs/live.ts and live-run.ts), never recorded. */
export type RunStatus = 'succeeded' | 'failed' | 'interrupted' | 'running' | 'lost'

export interface DataEntry {
  oid: string
  size: number
  files?: number
}

export interface RunRecord {
  xp: 1
  id: string
  name: string
  status: RunStatus
  exit_code: number | null
  command: string
  message?: string
  started: string
  ended: string
  duration_s: number
  baseline: string | null
  branch: string | null
  /**
   * The project the run belongs to: its folder relative to the repository root,
   * `/`-separated, `''` for the root project (README "Monorepos"). Absent in records made
   * before runs had a project: such a run is listed in every project.
   */
  project?: string
  /** the MLflow experiment the run belongs to (absent: `Default`) */
  experiment?: string
  params: Flat
  metrics: Flat
  /** free-form string tags (MLflow's `set_tag`); absent in records made before them */
  tags?: Record<string, string>
  series: string[]
  deps: Record<string, DataEntry>
  outs: Record<string, DataEntry>
  env: Record<string, unknown>
  /** tail of the output when the run did not succeed */
  error_tail?: string
  /** untracked files the snapshot left out (they look like secrets, or snapshot.exclude) */
  left_out?: string[]
  /** set when reading: the fields of a malformed record that were dropped (not written by xp) */
  damaged?: string[]
}

const ORDER: Array<keyof RunRecord> = [
  'xp',
  'id',
  'name',
  'status',
  'exit_code',
  'command',
  'message',
  'started',
  'ended',
  'duration_s',
  'baseline',
  'branch',
  'project',
  'experiment',
  'params',
  'metrics',
  'tags',
  'series',
  'deps',
  'outs',
  'env',
  'error_tail',
  'left_out',
]

/** The commit message: a subject line, a blank line, the record. */
export function encodeRecord(r: RunRecord): string {
  const subject = `xp: ${r.name} ${r.status}: ${r.command.replace(/\s+/g, ' ').slice(0, 200)}`
  const lines = ORDER.filter((k) => r[k] !== undefined).map((k) => `${k}: ${stringifyJson(r[k])}`)
  return `${subject}\n\n${lines.join('\n')}\n`
}

/**
 * Parse a run commit's message; null when it is not a run record (no `xp: 1` line).
 *
 * @example
 * decodeRecord('xp: a succeeded: true\n\nxp: 1\nid: "..."\n')?.id
 */
export function decodeRecord(message: string): RunRecord | null {
  const start = message.indexOf('\n\nxp: ')
  if (start < 0) return null
  const out: Record<string, unknown> = {}
  let pos = start + 2
  while (pos < message.length) {
    let end = message.indexOf('\n', pos)
    if (end < 0) end = message.length
    const sep = message.indexOf(': ', pos)
    if (sep > pos && sep < end) {
      try {
        out[message.slice(pos, sep)] = parseJson(message.slice(sep + 2, end))
      } catch {
        // a line that is not ours (e.g. a trailer git added) is skipped, not fatal
      }
    }
    pos = end + 1
  }
  if (out.xp !== 1 || typeof out.id !== 'string') return null
  const r = out as unknown as RunRecord
  // A record is data from outside (any commit can claim to be one): a field of the wrong
  // shape is dropped and named in `damaged`, so show, diff and the UI list the run as
  // damaged instead of failing on it.
  const damaged: string[] = []
  const mapOf = (k: 'params' | 'metrics' | 'deps' | 'outs' | 'env', scalars: boolean) => {
    const v = out[k]
    if (v === undefined || v === null) return ((r[k] as unknown) = {})
    const ok =
      typeof v === 'object' &&
      !Array.isArray(v) &&
      (!scalars || Object.values(v as object).every((x) => x === null || ['number', 'string', 'boolean'].includes(typeof x)))
    if (!ok) {
      damaged.push(k)
      ;(r[k] as unknown) = {}
    }
  }
  mapOf('params', true)
  mapOf('metrics', true)
  mapOf('deps', false)
  mapOf('outs', false)
  mapOf('env', false)
  if (out.series === undefined || out.series === null) r.series = []
  else if (!Array.isArray(out.series) || !out.series.every((s) => typeof s === 'string')) {
    damaged.push('series')
    r.series = []
  }
  // optional fields (the MLflow API's): absent is fine, a wrong shape is damage
  if (
    out.tags !== undefined &&
    (typeof out.tags !== 'object' || out.tags === null || Array.isArray(out.tags) || !Object.values(out.tags).every((x) => typeof x === 'string'))
  ) {
    damaged.push('tags')
    delete r.tags
  }
  for (const k of ['experiment', 'project'] as const) {
    if (out[k] !== undefined && typeof out[k] !== 'string') {
      damaged.push(k)
      delete r[k]
    }
  }
  for (const k of ['name', 'status', 'command', 'started', 'ended'] as const) {
    if (out[k] !== undefined && typeof out[k] !== 'string') {
      damaged.push(k)
      ;(r[k] as unknown) = String(out[k])
    }
  }
  if (typeof r.name !== 'string') r.name = r.id
  if (damaged.length) r.damaged = damaged
  return r
}

/** A run as listings give it: its record, plus the commit and ref it lives at and its notes. */
export interface ListedRun extends RunRecord {
  commit: string
  ref: string
  notes?: string
}
