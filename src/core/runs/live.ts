/**
 * The live-run store: runs that are still going, kept under `.xp/live/` until they are
 * recorded as commits. One file per run, `<id>.jsonl`, append-only: every logged fact
 * (param, metric point, tag, artifact, end) is one JSON line, and each request's facts go
 * out in one `write` with O_APPEND, so a killed server loses nothing it had answered and
 * two processes appending to one run never interleave inside a line. A torn last line
 * (a write cut short) is ignored on read and a new line is started after it.
 *
 * Anyone can read a live run at any time: `xp show` lists them as `running`, `xp ui`
 * shows their metrics as they arrive. The MLflow API writes them today; `xp run`'s live
 * view can share the format (the events are not MLflow's, they are xp's).
 *
 * Nothing here is the source of truth once a run is recorded: the run's commit is, and
 * the live file is then removed (a leftover whose ref exists is removed on the next look).
 */
import fs from 'node:fs'
import path from 'node:path'
import { XpError } from '../errors.js'
import { isRunId } from './ref.js'

export const LIVE_DIR = 'live'

/** One metric point: step, value, timestamp (ms). */
export type Point = [step: number, value: number, timestamp: number]

export interface LiveRunInit {
  id: string
  name: string
  experiment: string
  /** ms since the epoch */
  started: number
  user?: string
  tags?: Record<string, string>
  /** the project the run is recorded in (RunRecord.project): where the server was started */
  project?: string
}

/** The folded state of one live run. */
export interface LiveRun {
  id: string
  name: string
  experiment: string
  started: number
  user: string
  /** absent in live files of an older xp (then the recording server's project) */
  project?: string
  params: Record<string, string>
  tags: Record<string, string>
  metrics: Record<string, Point[]>
  /** artifact path (relative to the run's artifact root) -> object */
  artifacts: Record<string, { oid: string; size: number }>
  /** other facts kept for the record (inputs, logged models) */
  extra: Array<Record<string, unknown>>
  /** set once an end was asked for (the run may still be being recorded) */
  end?: { status: string; ended: number }
  deleted?: boolean
  /** ms of the last event (file mtime) */
  touched: number
}

/** The events in a live file; short keys keep 300-point batches small. */
export type LiveEvent =
  | ({ e: 'create'; pid?: number } & LiveRunInit)
  | { e: 'p'; k: string; v: string }
  | { e: 'm'; k: string; v: number | string; s: number; t: number }
  | { e: 't'; k: string; v: string }
  | { e: 'dt'; k: string }
  | { e: 'a'; p: string; oid: string; size: number }
  | { e: 'x'; v: Record<string, unknown> }
  | { e: 'name'; v: string }
  | { e: 'end'; status: string; ended: number }
  | { e: 'del'; v: boolean }

/** NaN and infinities travel as strings in JSON lines. */
const numOut = (v: number): number | string => (Number.isFinite(v) ? v : String(v))
const numIn = (v: number | string): number => (typeof v === 'number' ? v : Number(v))

export function metricEvent(k: string, v: number, step: number, t: number): LiveEvent {
  return { e: 'm', k, v: numOut(v), s: step, t }
}

function apply(run: LiveRun, ev: LiveEvent): void {
  switch (ev.e) {
    case 'p':
      run.params[ev.k] = ev.v
      break
    case 'm':
      ;(run.metrics[ev.k] ??= []).push([ev.s, numIn(ev.v), ev.t])
      break
    case 't':
      run.tags[ev.k] = ev.v
      break
    case 'dt':
      delete run.tags[ev.k]
      break
    case 'a':
      run.artifacts[ev.p] = { oid: ev.oid, size: ev.size }
      break
    case 'x':
      run.extra.push(ev.v)
      break
    case 'name':
      run.name = ev.v
      break
    case 'end':
      run.end = { status: ev.status, ended: ev.ended }
      break
    case 'del':
      run.deleted = ev.v
      break
  }
}

interface Loaded {
  run: LiveRun
  /** bytes of the file folded so far */
  offset: number
  /** the file ends inside a line */
  torn: boolean
}

/**
 * The store of one repository's live runs. State is folded from the files and refreshed
 * from what other processes appended (one fstat per access), so two `xp ui` on one repo
 * see each other's writes.
 *
 * @example
 * const store = new LiveStore(repo.xpDir)
 * store.create({ id, name: 'brisk-otter', experiment: 'Default', started: Date.now() })
 * store.append(id, [metricEvent('loss', 0.3, 1, Date.now())])
 */
export class LiveStore {
  readonly dir: string
  private runs = new Map<string, Loaded>()

  constructor(xpDir: string) {
    this.dir = path.join(xpDir, LIVE_DIR)
  }

  private file(id: string): string {
    if (!isRunId(id)) throw new XpError('XP_RUN_NOT_FOUND', `not a run id: ${JSON.stringify(id)}`)
    return path.join(this.dir, `${id}.jsonl`)
  }

  /** Start a live run; XP_RUN_EXISTS if its file exists. */
  create(init: LiveRunInit): LiveRun {
    fs.mkdirSync(this.dir, { recursive: true })
    const line = JSON.stringify({ e: 'create', pid: process.pid, ...init }) + '\n'
    try {
      fs.writeFileSync(this.file(init.id), line, { flag: 'wx' })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new XpError('XP_RUN_EXISTS', `run ${init.id} exists already`)
      throw e
    }
    return this.get(init.id)!
  }

  /** The run's current state, or null when there is no live file for it. */
  get(id: string): LiveRun | null {
    let file: string
    try {
      file = this.file(id)
    } catch {
      return null
    }
    let fd: number
    try {
      fd = fs.openSync(file, 'r')
    } catch {
      this.runs.delete(id)
      return null
    }
    try {
      const st = fs.fstatSync(fd)
      let l = this.runs.get(id)
      if (l && st.size < l.offset) l = undefined // replaced: fold again
      const from = l?.offset ?? 0
      if (st.size > from) {
        const buf = Buffer.alloc(st.size - from)
        fs.readSync(fd, buf, 0, buf.length, from)
        l = fold(l, buf, from)
        if (!l) return null
        this.runs.set(id, l)
      }
      if (!l) return null
      l.run.touched = st.mtimeMs
      return l.run
    } finally {
      fs.closeSync(fd)
    }
  }

  /** Append events in one write; XP_RUN_NOT_FOUND when the run is not live. */
  append(id: string, events: LiveEvent[]): LiveRun {
    const run = this.get(id)
    if (!run) throw new XpError('XP_RUN_NOT_FOUND', `run ${id} is not running`)
    if (!events.length) return run
    const l = this.runs.get(id)!
    const text = (l.torn ? '\n' : '') + events.map((e) => JSON.stringify(e)).join('\n') + '\n'
    fs.appendFileSync(this.file(id), text)
    return this.get(id)!
  }

  /** Ids of every live file (newest first: ids sort by time). */
  ids(): string[] {
    let names: string[]
    try {
      names = fs.readdirSync(this.dir)
    } catch {
      return []
    }
    return names
      .filter((n) => n.endsWith('.jsonl') && isRunId(n.slice(0, -6)))
      .map((n) => n.slice(0, -6))
      .sort()
      .reverse()
  }

  list(): LiveRun[] {
    return this.ids()
      .map((id) => this.get(id))
      .filter((r): r is LiveRun => r !== null)
  }

  /** Drop a live file once its run is recorded. */
  remove(id: string): void {
    this.runs.delete(id)
    fs.rmSync(this.file(id), { force: true })
  }
}

/** Fold bytes (starting at `from`) into a loaded run; a file with no create line is null. */
function fold(l: Loaded | undefined, buf: Buffer, from: number): Loaded | undefined {
  let pos = 0
  let torn = false
  while (pos < buf.length) {
    const nl = buf.indexOf(10, pos)
    if (nl < 0) {
      torn = true
      break
    }
    const text = buf.toString('utf8', pos, nl)
    pos = nl + 1
    let ev: LiveEvent
    try {
      ev = JSON.parse(text) as LiveEvent
    } catch {
      continue // a torn line an append was started after
    }
    if (!ev || typeof ev !== 'object') continue
    if (ev.e === 'create') {
      // a file `xp run` keeps for its own run (core/runs/live-run.ts: `kind`) is not an MLflow run:
      // the MLflow API neither lists, appends to, nor records it
      if ((ev as { kind?: string }).kind !== undefined) return undefined
      if (!l)
        l = {
          run: {
            id: ev.id,
            name: ev.name,
            experiment: ev.experiment,
            started: ev.started,
            user: ev.user ?? '',
            ...(typeof ev.project === 'string' ? { project: ev.project } : {}),
            params: {},
            tags: { ...(ev.tags ?? {}) },
            metrics: {},
            artifacts: {},
            extra: [],
            touched: 0,
          },
          offset: 0,
          torn: false,
        }
      continue
    }
    if (l) apply(l.run, ev)
  }
  if (!l) return undefined
  // a torn tail is not folded: it is read again (whole, if the writer finished it) next time
  l.offset = from + pos
  l.torn = torn
  return l
}
