/**
 * `xp run`'s live record (docs/ui.md#live-runs): a foreground run is visible from its
 * start. When the command starts, xp writes `.xp/live/<id>.jsonl`, one JSON line per fact
 * (the format of the live-run store the MLflow API shares: a `create` line, then events),
 * and removes it once the run's commit and ref exist. Nothing is written while the command
 * runs: its series are the files it writes anyway (DVCLive's TSVs, `series:` in xp.yaml),
 * its log is `.xp/runs/<id>/output.log`, its system metrics `.xp/runs/<id>/system.jsonl`,
 * all read by whoever looks (`xp show`, `xp ui`), so the training loop pays nothing.
 *
 * Listed as `running` while its xp process lives (same host: pid and the process's start
 * time, so a reused pid is not mistaken for it), `lost` once that process is gone without
 * recording (kill -9, a reboot). `xp run --recover ID` records a lost run as failed, with
 * what it left: its log, its series so far, its system metrics. A run on another host
 * (a shared file system) is listed `running` with its host: xp cannot see that process.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { XpError } from '../errors.js'
import { guardRead } from '../safety/paths.js'
import type { Flat } from '../params.js'
import type { ListedRun } from './list.js'
import { isRunId } from './ref.js'

export const LIVE_DIR = 'live'
/** What marks a live file as `xp run`'s (the MLflow API's have none). */
export const XP_RUN_KIND = 'xp-run'
const LOG_TAIL = 64 * 1024

/** The `create` line of an `xp run` live file. */
export interface LiveRunStart {
  e: 'create'
  kind: typeof XP_RUN_KIND
  id: string
  name: string
  /** ms since the epoch */
  started: number
  /** xp's own process, and when it started (ticks since boot, from /proc) */
  pid: number
  pid_start: string | null
  host: string
  command: string
  params: Flat
  /** series globs (xp.yaml's `series:` or DVCLive's) */
  series: string[]
  baseline: string | null
  branch: string | null
  message?: string
  /** the project the run is recorded in (RunRecord.project); absent in files of an older xp */
  project?: string
  /** the working tree the command writes its files in, and its run folder (absolute; a queued run's are in its worktree) */
  root: string
  run_dir: string
}

type LiveRepo = Pick<Repo, 'root' | 'ctx'> & Partial<Pick<Repo, 'commonDir' | 'xpDir'>>

const liveDir = (repo: Pick<Repo, 'xpDir'>) => path.join(repo.xpDir, LIVE_DIR)
function liveFile(repo: Pick<Repo, 'xpDir'>, id: string): string {
  if (!isRunId(id)) throw new XpError('XP_RUN_NOT_FOUND', `not a run id: ${JSON.stringify(id)}`)
  return path.join(liveDir(repo), `${id}.jsonl`)
}

/** A process's start time (field 22 of /proc/PID/stat), or null off Linux or when it is gone. */
export function processStart(pid: number): string | null {
  try {
    const t = fs.readFileSync(`/proc/${pid}/stat`, 'latin1')
    return t.slice(t.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

/** Is the process that wrote `start` still the one running under its pid (on this host)? */
function alive(start: Pick<LiveRunStart, 'pid' | 'pid_start'>): boolean {
  if (start.pid_start !== null) return processStart(start.pid) === start.pid_start
  try {
    process.kill(start.pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Register a run as live; its file is complete in one write. */
export function beginLiveRun(repo: Pick<Repo, 'xpDir'>, start: Omit<LiveRunStart, 'e' | 'kind' | 'pid' | 'pid_start' | 'host'>): void {
  fs.mkdirSync(liveDir(repo), { recursive: true })
  const line: LiveRunStart = { e: 'create', kind: XP_RUN_KIND, ...start, pid: process.pid, pid_start: processStart(process.pid), host: os.hostname() }
  fs.writeFileSync(liveFile(repo, start.id), JSON.stringify(line) + '\n', { flag: 'wx' })
}

/** The run is recorded (or given up): it is no longer live. */
export function endLiveRun(repo: Pick<Repo, 'xpDir'>, id: string): void {
  fs.rmSync(liveFile(repo, id), { force: true })
}

function readStart(file: string): LiveRunStart | null {
  try {
    const text = fs.readFileSync(file, 'utf8')
    const first = JSON.parse(text.slice(0, text.indexOf('\n') >>> 0 || undefined)) as LiveRunStart
    return first && first.e === 'create' && first.kind === XP_RUN_KIND && isRunId(first.id) ? first : null
  } catch {
    return null
  }
}

/** Is there a ref for this run already (recorded, its live file left by a crash in between)? */
function recorded(repo: LiveRepo, id: string): boolean {
  const common = repo.commonDir
  if (!common) return false
  if (fs.existsSync(path.join(common, 'refs', 'xp', 'runs', id))) return true
  try {
    return fs.readFileSync(path.join(common, 'packed-refs'), 'latin1').includes(` refs/xp/runs/${id}\n`)
  } catch {
    return false
  }
}

function listed(s: LiveRunStart, now: Date, lost: boolean): ListedRun {
  return {
    xp: 1,
    id: s.id,
    name: s.name,
    status: lost ? 'lost' : 'running',
    exit_code: null,
    command: s.command,
    message: s.message,
    started: new Date(s.started).toISOString(),
    ended: '',
    duration_s: Math.max(0, Math.round(now.getTime() - s.started) / 1000),
    baseline: s.baseline,
    branch: s.branch,
    ...(typeof s.project === 'string' ? { project: s.project } : {}),
    params: s.params,
    metrics: {},
    series: [],
    deps: {},
    outs: {},
    env: { host: s.host, pid: s.pid },
    commit: '',
    ref: '',
  }
}

/**
 * `xp run`'s live runs, newest first: `running`, or `lost` once their process is gone.
 * A leftover whose ref exists (recorded, crash before the cleanup) is removed.
 *
 * @example
 * listXpLiveRuns(repo) // [{ id, name, status: 'running', env: { host: 'gpu-3', pid: 4242 }, … }]
 */
export function listXpLiveRuns(repoIn: LiveRepo): ListedRun[] {
  const repo = { ...repoIn, xpDir: repoIn.xpDir ?? path.join(repoIn.root, '.xp') }
  let names: string[]
  try {
    names = fs.readdirSync(liveDir(repo))
  } catch {
    return []
  }
  const now = repo.ctx.now()
  const host = os.hostname()
  const out: ListedRun[] = []
  for (const n of names
    .filter((x) => x.endsWith('.jsonl'))
    .sort()
    .reverse()) {
    const s = readStart(path.join(liveDir(repo), n))
    if (!s) continue
    if (recorded(repo, s.id)) {
      fs.rmSync(path.join(liveDir(repo), n), { force: true })
      continue
    }
    out.push(listed(s, now, s.host === host && !alive(s)))
  }
  return out
}

/** The live start of one run, or null. */
export function liveStart(repo: Pick<Repo, 'xpDir'>, id: string): LiveRunStart | null {
  try {
    return readStart(liveFile(repo, id))
  } catch {
    return null
  }
}

/** The last 64 KiB of a live run's output (what `xp ui` shows as its log tail). */
export function liveLogTail(s: Pick<LiveRunStart, 'run_dir'>): string {
  const file = path.join(s.run_dir, 'output.log')
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch {
    return ''
  }
  try {
    const size = fs.fstatSync(fd).size
    const n = Math.min(size, LOG_TAIL)
    const buf = Buffer.alloc(n)
    fs.readSync(fd, buf, 0, n, size - n)
    const text = buf.toString('utf8')
    return size > n ? text.slice(text.indexOf('\n') + 1) : text
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * The files a live run's curves come from, as they are now: its series files in the
 * working tree (inside it, no symlink out) and its system metrics.
 */
export async function liveSeriesFiles(
  s: LiveRunStart,
  find: (root: string, globs: string[]) => Promise<string[]>,
): Promise<Array<{ path: string; abs: string }>> {
  const out: Array<{ path: string; abs: string }> = []
  for (const p of await find(s.root, s.series)) {
    try {
      // the path guard (core/safety): relative, no `..`, its real path inside the repository
      out.push({ path: p, abs: guardRead(s.root, p, 'series') })
    } catch {
      // gone since, or leading out of the repository: not read
    }
  }
  const sys = path.join(s.run_dir, 'system.jsonl')
  if (fs.existsSync(sys)) out.push({ path: '.xp-run/system.jsonl', abs: sys })
  return out
}
