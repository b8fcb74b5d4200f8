/**
 * `xp queue start`: claim queued tasks and run them N at a time, each in its own temporary
 * worktree, each recorded by `recordRun` exactly as `xp run` records (the run's parent is
 * the task's baseline, its tree what the command left). Returns when no task is left.
 *
 * Order of a task's life, chosen so that a worker killed at any point leaves nothing
 * stuck: claim -> state running -> worktree -> run -> final state -> remove worktree ->
 * release the claim. `reapDead` finishes the job of a dead worker.
 */
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import type { Repo } from '../repo.js'
import type { RunControl } from '../runs/record-run.js'
import { removeWorktree, POOL_PREFIX } from './worktree.js'
import { reapDead } from './reap.js'
import { executeTask, type QueueEvent } from './execute.js'
import { queuePaths, listTasks, readTask, tryClaim, releaseClaim, ownClaim, cancelFile, claimFile, type QueuePaths, type Task } from './task.js'

export type { QueueEvent } from './execute.js'

export interface WorkerOptions {
  jobs: number
  onEvent?: (e: QueueEvent) => void
  /** aborting stops taking tasks and interrupts the running ones */
  signal?: AbortSignal
  /** on abort, send SIGINT to the commands (false when a terminal sent it to them already) */
  forwardInterrupt?: boolean
  /**
   * keep each slot's worktree from one task to the next, reset to the next task's snapshot
   * (`git clean -ffdx`, `git reset --hard`) instead of created and removed: on a disk where
   * creating files is slow, this saves checking out the whole tree for every task
   */
  reuseWorktrees?: boolean
}

/** Worktrees a worker keeps between tasks (with reuseWorktrees); all removed when it stops. */
class WorktreePool {
  private idle: string[] = []
  private seq = 0
  constructor(private q: QueuePaths) {}
  take(): { dir: string; reused: boolean } {
    const dir = this.idle.pop()
    return dir ? { dir, reused: true } : { dir: path.join(this.q.worktrees, `${POOL_PREFIX}${process.pid}-${++this.seq}`), reused: false }
  }
  give(dir: string) {
    this.idle.push(dir)
  }
  drain(): string[] {
    return this.idle.splice(0)
  }
}

/** How often a worker looks for cancel requests, and how long a command has to stop after SIGINT. */
const POLL_MS = 200
const TERM_AFTER_MS = 10_000
const KILL_AFTER_MS = 20_000
const RESCAN_MS = 1000

/**
 * Run the queue until it is empty.
 *
 * @example
 * const { tasks } = await runQueue(repo, { jobs: 2, onEvent: (e) => events.push(e) })
 */
export async function runQueue(repo: Repo, opts: WorkerOptions): Promise<{ tasks: Task[] }> {
  const q = queuePaths(repo)
  for (const task of await reapDead(repo)) opts.onEvent?.({ type: 'reaped', task })
  const jobs = Math.max(1, Math.floor(opts.jobs))
  const running = new Map<string, Promise<void>>()
  const live = new Map<string, { control?: RunControl; cancelAt?: number }>()
  const finished: Task[] = []
  const pool = opts.reuseWorktrees ? new WorktreePool(q) : null
  const claimNext = claimer(q)
  let stopping = false

  const onAbort = () => {
    stopping = true
    for (const l of live.values()) l.control?.interrupt(opts.forwardInterrupt !== false)
  }
  opts.signal?.addEventListener('abort', onAbort)
  if (opts.signal?.aborted) onAbort()

  // cancel requests arrive as files; a running command gets SIGINT, then SIGTERM, then SIGKILL
  const poll = setInterval(() => {
    const now = repo.ctx.now().getTime()
    for (const [id, l] of live) {
      if (l.cancelAt === undefined) {
        if (!fs.existsSync(cancelFile(q, id))) continue
        l.cancelAt = now
        l.control?.interrupt(true)
      } else if (l.control && now - l.cancelAt > KILL_AFTER_MS) l.control.kill('SIGKILL')
      else if (l.control && now - l.cancelAt > TERM_AFTER_MS) l.control.kill('SIGTERM')
    }
  }, POLL_MS)

  try {
    for (;;) {
      while (!stopping && running.size < jobs) {
        const task = claimNext(ownClaim(repo.ctx.now()))
        if (!task) break
        const state = { control: undefined as RunControl | undefined, cancelAt: undefined as number | undefined }
        live.set(task.id, state)
        const p = executeTask(repo, q, task, state, { onEvent: opts.onEvent }, pool)
          .then((t) => {
            finished.push(t)
          })
          .finally(() => {
            live.delete(task.id)
            running.delete(task.id)
          })
        running.set(task.id, p)
      }
      if (!running.size) break
      // with a free slot, look again now and then: tasks may be queued while others run
      const rescan = running.size < jobs && !stopping ? [new Promise((r) => setTimeout(r, RESCAN_MS))] : []
      await Promise.race([...running.values(), ...rescan])
    }
  } finally {
    clearInterval(poll)
    opts.signal?.removeEventListener('abort', onAbort)
    for (const dir of pool?.drain() ?? []) await removeWorktree(repo, dir)
  }
  return { tasks: finished }
}

/**
 * Claim the first queued task nobody holds; re-read it after claiming (a cancel may have
 * won). The queued ids are listed once and then walked, not re-read for every slot: with
 * 1,000 tasks, reading every task file per claim would cost seconds over a sweep. The list
 * is made again when it runs out, so tasks queued meanwhile are found.
 */
function claimer(q: QueuePaths) {
  let pending: string[] = []
  return (claim: ReturnType<typeof ownClaim>): Task | null => {
    for (let relisted = false; ; relisted = true) {
      while (pending.length) {
        const id = pending.shift()!
        if (fs.existsSync(claimFile(q, id)) || !tryClaim(q, id, claim)) continue
        const fresh = readTask(q, id)
        if (fresh?.state === 'queued' && !fresh.slurm) return fresh
        releaseClaim(q, id)
      }
      if (relisted) return null
      // a task handed to Slurm is the scheduler's to run
      pending = listTasks(q)
        .filter((t) => t.state === 'queued' && !t.slurm)
        .map((t) => t.id)
    }
  }
}

/**
 * Start a worker in the background (`xp queue start --detach`): the same command without
 * `--detach`, in its own session, its output in `.xp/queue/worker-<pid>.log`.
 */
export function startDetached(repo: Repo, o: { execPath: string; args: string[] }): { pid: number; log: string } {
  const q = queuePaths(repo)
  fs.mkdirSync(q.dir, { recursive: true })
  const tmpLog = path.join(q.dir, `worker-starting-${repo.ctx.now().getTime()}-${process.pid}.log`)
  const fd = fs.openSync(tmpLog, 'a')
  const child = spawn(o.execPath, o.args, { cwd: repo.root, env: repo.ctx.env as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', fd, fd] })
  fs.closeSync(fd)
  const log = path.join(q.dir, `worker-${child.pid}.log`)
  fs.renameSync(tmpLog, log)
  child.unref()
  return { pid: child.pid ?? 0, log }
}
