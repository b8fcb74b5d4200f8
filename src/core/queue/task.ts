/**
 * Queued tasks on disk: one JSON file per task in `.xp/queue/tasks/`, written atomically.
 * A task being run is claimed by a lock file in `.xp/queue/claims/` created with link(2)
 * (atomic, and complete when it appears) that names the worker's pid, host and start
 * time, so two `xp queue start` never run one task and a dead worker is recognised.
 *
 * Layout of `.xp/queue/` (machine-local; losing it loses no recorded run):
 *   tasks/<id>.json      the task and its state
 *   claims/<id>          the worker that runs it ({pid, host, started, ticks})
 *   cancel/<id>          a cancel request for a running task
 *   logs/<id>.log        the task's output
 *   worktrees/<id>/      its temporary git worktree while it runs
 * and `refs/xp/queue/<id of a batch's first task>` keeps the queued snapshot's objects.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { writeFileAtomic, tempNameFor } from '../fsutil.js'
import { XpError } from '../errors.js'
import { decode, object, array, string, nonEmptyString, integer, literal, optional, nullable, withDefault, unknownValue } from '../decode.js'
import type { ParamEdit } from '../params.js'
import type { RunStatus } from '../runs/record.js'

export type TaskState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled'
export const TASK_STATES: TaskState[] = ['queued', 'running', 'done', 'failed', 'cancelled']
export const QUEUE_REF_PREFIX = 'refs/xp/queue/'

export interface Task {
  xp_queue: 1
  id: string
  name: string
  state: TaskState
  /** ISO time it was queued; with `index`, the order tasks run in */
  created: string
  index: number
  /** the commit the task runs on (HEAD when queued) */
  baseline: string
  branch: string | null
  /** the working tree when queued (tracked changes and untracked files), as a commit on `ref` (one per batch) */
  snapshot: string
  tree: string
  ref: string
  /** one combination of the grid */
  edits: ParamEdit[]
  /** argv; empty means `command:` from xp.yaml */
  command: string[]
  /** the folder the command runs from, relative to the repo root */
  cwd: string
  message?: string
  attempts: number
  started?: string
  ended?: string
  worker?: { pid: number; host: string }
  /** where it runs (or ran): its own worktree, or a worker's reused one */
  worktree?: string
  run?: { id: string; status: RunStatus; exit_code: number | null; ref: string; commit: string }
  /** why a task failed or was cancelled, when no run says it */
  reason?: string
  /** sbatch options of this task (`xp run --queue --sbatch ARG`), after xp.yaml's and `start`'s */
  sbatch?: string[]
  /** set when the task was handed to Slurm: the job, and what Slurm last said of it */
  slurm?: SlurmInfo
  /** a retried Slurm task: how to submit it again */
  resubmit?: { remote?: string; sbatch: string[] }
}

export interface SlurmInfo {
  /** the array element, `<array job id>_<index>` */
  job: string
  /** the first task's id, naming the array's script and task list in `.xp/queue/slurm/` */
  batch?: string
  /** file Slurm writes the job's output to (on the cluster's file system) */
  output: string
  submitted: string
  /** results come back through this git remote (no shared file system), else through the repository itself */
  remote?: string
  /** the `--sbatch` options of the `xp queue start` that submitted it */
  start_sbatch?: string[]
  /** Slurm's state, reason, node and exit code at the last look */
  state?: string
  reason?: string
  node?: string
  exit_code?: string
}

export interface Claim {
  pid: number
  host: string
  started: string
  /** the process's start time in clock ticks since boot (Linux), to tell a reused pid */
  ticks?: number
}

export interface QueuePaths {
  dir: string
  tasks: string
  claims: string
  cancel: string
  logs: string
  worktrees: string
}

export function queuePaths(repo: Pick<Repo, 'xpDir'>): QueuePaths {
  const dir = path.join(repo.xpDir, 'queue')
  return {
    dir,
    tasks: path.join(dir, 'tasks'),
    claims: path.join(dir, 'claims'),
    cancel: path.join(dir, 'cancel'),
    logs: path.join(dir, 'logs'),
    worktrees: path.join(dir, 'worktrees'),
  }
}

export const taskFile = (q: QueuePaths, id: string) => path.join(q.tasks, `${id}.json`)
export const claimFile = (q: QueuePaths, id: string) => path.join(q.claims, id)
export const cancelFile = (q: QueuePaths, id: string) => path.join(q.cancel, id)
export const logFile = (q: QueuePaths, id: string) => path.join(q.logs, `${id}.log`)
export const worktreeDir = (q: QueuePaths, id: string) => path.join(q.worktrees, id)

export function writeTask(q: QueuePaths, task: Task): void {
  writeFileAtomic(taskFile(q, task.id), JSON.stringify(task) + '\n')
}

export function readTask(q: QueuePaths, id: string): Task | null {
  let text: string
  try {
    text = fs.readFileSync(taskFile(q, id), 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return null // a task file is written whole or not at all; anything else is not ours
  }
  if (!v || typeof v !== 'object' || (v as { xp_queue?: unknown }).xp_queue !== 1) return null
  return decodeTask(v, `.xp/queue/tasks/${id}.json`)
}

/** Parse, don't cast: past here every field has the type Task says (XP_BAD_TASK otherwise). */
export function decodeTask(v: unknown, file: string): Task {
  return decode(TaskDecoder, v, { file, code: 'XP_BAD_TASK', hint: 'delete the file, or fix it by hand' }) as Task
}

const strings = array(string)
const TaskDecoder = object({
  xp_queue: literal(1),
  id: nonEmptyString,
  name: nonEmptyString,
  state: literal(...TASK_STATES),
  created: string,
  index: integer,
  baseline: string,
  branch: nullable(string),
  snapshot: string,
  tree: string,
  ref: string,
  edits: array(object({ file: string, key: string, value: unknownValue, raw: optional(string), mode: optional(literal('add', 'upsert')) })),
  command: strings,
  cwd: withDefault(string, ''),
  message: optional(string),
  attempts: withDefault(integer, 0),
  started: optional(string),
  ended: optional(string),
  worker: optional(object({ pid: integer, host: string })),
  worktree: optional(string),
  run: optional(
    object({ id: string, status: literal('succeeded', 'failed', 'interrupted', 'running'), exit_code: nullable(integer), ref: string, commit: string }),
  ),
  reason: optional(string),
  sbatch: optional(strings),
  slurm: optional(
    object({
      job: string,
      output: string,
      submitted: string,
      batch: optional(string),
      remote: optional(string),
      start_sbatch: optional(strings),
      state: optional(string),
      reason: optional(string),
      node: optional(string),
      exit_code: optional(string),
    }),
  ),
  resubmit: optional(object({ remote: optional(string), sbatch: strings })),
})

/** Run order: the time queued, then the place in the grid. */
export function compareTasks(a: Task, b: Task): number {
  return a.created < b.created ? -1 : a.created > b.created ? 1 : a.index - b.index || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** Every task, in run order. One readdir and one small read per task. */
export function listTasks(q: QueuePaths): Task[] {
  let names: string[]
  try {
    names = fs.readdirSync(q.tasks)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
  const tasks: Task[] = []
  for (const n of names) {
    if (!n.endsWith('.json') || n.startsWith('.')) continue
    const t = readTask(q, n.slice(0, -5))
    if (t) tasks.push(t)
  }
  return tasks.sort(compareTasks)
}

/**
 * Find a task by id, unique id prefix (4+ characters) or name.
 *
 * @example
 * resolveTask(tasks, 'sweep-2').id
 */
export function resolveTask(tasks: Task[], spec: string): Task {
  const exact = tasks.find((t) => t.id === spec)
  if (exact) return exact
  const byName = tasks.filter((t) => t.name === spec)
  const byPrefix = spec.length >= 4 ? tasks.filter((t) => t.id.startsWith(spec.toLowerCase())) : []
  const found = [...new Set([...byName, ...byPrefix])]
  if (found.length === 1) return found[0]
  if (!found.length)
    throw new XpError('XP_QUEUE_TASK_NOT_FOUND', `no queued task matches "${spec}"`, { hint: 'list tasks with `xp queue status`', data: { spec } })
  throw new XpError('XP_QUEUE_TASK_AMBIGUOUS', `"${spec}" matches ${found.length} tasks: ${found.map((t) => `${t.name} (${t.id})`).join(', ')}`, {
    hint: 'give more of the id',
    data: { spec, candidates: found.map((t) => t.id) },
  })
}

/** A process's state letter and start time in clock ticks since boot, from /proc (Linux); undefined elsewhere. */
function procStat(pid: number): { state: string; ticks: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields after the command name (which may hold spaces) start at the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[19])
    return Number.isFinite(ticks) ? { state: fields[0], ticks } : undefined
  } catch {
    return undefined
  }
}

export function processTicks(pid: number): number | undefined {
  return procStat(pid)?.ticks
}

/** Is the worker that holds this claim still running? Another host's worker is assumed alive. */
export function claimAlive(claim: Claim): boolean {
  if (claim.host !== os.hostname()) return true
  try {
    process.kill(claim.pid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const now = procStat(claim.pid)
  if (!now) return true
  // a zombie (killed, not yet reaped by its parent) is dead; a different start time is a reused pid
  if (now.state === 'Z' || now.state === 'X') return false
  return claim.ticks === undefined || now.ticks === claim.ticks
}

const ClaimDecoder = object({ pid: integer, host: string, started: string, ticks: optional(integer) })

/** The claim on a task, or null when there is none (or it is not a claim: then nobody holds the task). */
export function readClaim(q: QueuePaths, id: string): Claim | null {
  try {
    return decode(ClaimDecoder, JSON.parse(fs.readFileSync(claimFile(q, id), 'utf8')), { file: claimFile(q, id) })
  } catch {
    return null
  }
}

/** This process's claim record. */
export function ownClaim(now: Date, pid = process.pid): Claim {
  return { pid, host: os.hostname(), started: now.toISOString(), ticks: processTicks(pid) }
}

/**
 * Claim a task for this process: true when it is ours. The claim file is written under a
 * temporary name and hard-linked into place, which fails if another process holds it.
 */
export function tryClaim(q: QueuePaths, id: string, claim: Claim): boolean {
  fs.mkdirSync(q.claims, { recursive: true })
  const target = claimFile(q, id)
  const tmp = tempNameFor(target)
  fs.writeFileSync(tmp, JSON.stringify(claim))
  try {
    fs.linkSync(tmp, target)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw e
  } finally {
    fs.rmSync(tmp, { force: true })
  }
}

export function releaseClaim(q: QueuePaths, id: string): void {
  fs.rmSync(claimFile(q, id), { force: true })
}
