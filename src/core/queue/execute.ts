/**
 * One task's life, the same whichever executor runs it (a local worker's slot, or a Slurm
 * job through `xp queue run-task`): state running, its own worktree from the task's
 * snapshot, params edits, data materialized, the command run and recorded by `recordRun`
 * (the very function `xp run` uses, so a queued run records exactly as a foreground one),
 * the final state, the worktree removed, the claim released. The caller holds the claim.
 */
import fs from 'node:fs'
import path from 'node:path'
import { findProject, type Repo } from '../repo.js'
import { makeContext, type Context } from '../context.js'
import { editParams } from '../params.js'
import { XpError } from '../errors.js'
import { recordRun, type RunControl } from '../runs/record-run.js'
import { materializeData } from './data.js'
import { Scrubber } from '../safety/secrets.js'
import { addWorktree, resetWorktree, removeWorktree, killProcessesIn } from './worktree.js'
import { writeTask, releaseClaim, ownClaim, cancelFile, logFile, worktreeDir, type QueuePaths, type Task } from './task.js'

export type QueueEvent = { type: 'started'; task: Task } | { type: 'finished'; task: Task } | { type: 'reaped'; task: Task }

/** What a running task shares with whoever steers it: the run's control, when a cancel began. */
export interface LiveTask {
  control?: RunControl
  cancelAt?: number
}

export interface ExecuteOptions {
  onEvent?: (e: QueueEvent) => void
  /** the command's output (and xp's notes) as it comes, besides the task's log */
  onOutput?: (chunk: Buffer) => void
  /** before data is materialized (a job without the shared file system fetches it here) */
  beforeData?: (wt: Repo) => Promise<void>
}

/** Worktrees kept from one task to the next (`--reuse-worktrees`). */
export interface TaskSlots {
  take(): { dir: string; reused: boolean }
  give(dir: string): void
}

export async function executeTask(
  repo: Repo,
  q: QueuePaths,
  task: Task,
  live: LiveTask,
  opts: ExecuteOptions = {},
  pool: TaskSlots | null = null,
): Promise<Task> {
  const { ctx } = repo
  const slot = pool ? pool.take() : { dir: worktreeDir(q, task.id), reused: false }
  const wt = slot.dir
  // a pooled worktree goes back to the pool unless setting it up failed half-way
  let poolable = slot.reused
  fs.mkdirSync(q.logs, { recursive: true })
  const log = fs.openSync(logFile(q, task.id), 'a')
  const note = (msg: string) => {
    fs.writeSync(log, `xp: ${msg}\n`)
    opts.onOutput?.(Buffer.from(`xp: ${msg}\n`))
  }
  const cancelled = () => live.cancelAt !== undefined || fs.existsSync(cancelFile(q, task.id))
  task.state = 'running'
  task.started = ctx.now().toISOString()
  task.attempts = (task.attempts ?? 0) + 1
  task.worker = { pid: process.pid, host: ownClaim(ctx.now()).host }
  task.worktree = wt
  delete task.reason
  delete task.run
  delete task.ended
  writeTask(q, task)
  opts.onEvent?.({ type: 'started', task })
  try {
    if (cancelled()) throw new XpError('XP_QUEUE_CANCELLED', 'cancelled before it started')
    poolable = false
    if (slot.reused) await resetWorktree(repo, wt, task.snapshot, task.baseline)
    else await addWorktree(repo, wt, task.baseline, task.tree)
    poolable = true
    if (task.edits.length) editParams(wt, task.edits)
    const wtRepo = worktreeRepo(repo, wt, makeContext({ cwd: wt, env: ctx.env, now: ctx.now, warn: (m) => note(`warning: ${m}`) }), task.cwd)
    await opts.beforeData?.(wtRepo)
    await materializeData(wtRepo)
    if (cancelled()) throw new XpError('XP_QUEUE_CANCELLED', 'cancelled before it started')
    // the task's log (and a Slurm job's output file) is scrubbed as it streams, like the run's own (core/safety)
    const logScrubber = Scrubber.forEnv(ctx.env).stream()
    const res = await recordRun(wtRepo, {
      name: task.name,
      message: task.message,
      command: task.command,
      cwd: path.join(wt, task.cwd),
      branch: task.branch,
      // live in the main checkout's .xp/live, where xp show and xp ui look (not the worktree's)
      liveXpDir: repo.xpDir,
      env: { XP_QUEUE_TASK: task.id },
      onOutput: (chunk) => {
        const clean = logScrubber.push(chunk)
        if (!clean.length) return
        fs.writeSync(log, clean)
        opts.onOutput?.(clean)
      },
      attach: (c) => {
        live.control = c
        if (cancelled()) {
          live.cancelAt ??= ctx.now().getTime()
          c.interrupt(true)
        }
      },
    })
    const rest = logScrubber.end()
    if (rest.length) {
      fs.writeSync(log, rest)
      opts.onOutput?.(rest)
    }
    keepRunDir(wtRepo.xpDir, repo.xpDir, res.record.id)
    const r = res.record
    task.run = { id: r.id, status: r.status, exit_code: r.exit_code, ref: res.ref, commit: res.commit }
    if (r.status === 'succeeded') task.state = 'done'
    // a cancel asked for and a run that did not succeed: the signal may reach the command before xp (Slurm signals every process of the job)
    else if (cancelled()) task.state = 'cancelled'
    else {
      task.state = 'failed'
      task.reason = r.status === 'interrupted' ? 'interrupted: the worker was stopped' : `the command exited with ${r.exit_code}`
    }
    note(`run ${r.name} (${r.id}) ${r.status}, recorded as ${res.ref}`)
  } catch (e) {
    const msg = e instanceof XpError ? e.message : `internal error: ${(e as Error)?.message ?? e}`
    task.state = cancelled() ? 'cancelled' : 'failed'
    task.reason = msg
    note(`error: ${msg}`)
  } finally {
    task.ended = ctx.now().toISOString()
    writeTask(q, task)
    fs.closeSync(log)
    if (pool && poolable) {
      // what the command left running must not run on into the next task's tree
      killProcessesIn(wt)
      pool.give(wt)
    } else if (fs.existsSync(wt)) await removeWorktree(repo, wt)
    fs.rmSync(cancelFile(q, task.id), { force: true })
    releaseClaim(q, task.id)
  }
  opts.onEvent?.({ type: 'finished', task })
  return task
}

/**
 * The task's worktree as a Repo. Built rather than found: its git dir is named in its
 * `.git` file, and the cache must be the user's (their `.xp/config.local.yaml` or
 * XP_CACHE_DIR may move it), which the worktree's own `.xp` knows nothing of.
 */
export function worktreeRepo(main: Repo, wt: string, ctx: Context, cwd = ''): Repo {
  const m = /^gitdir: (.+)$/m.exec(fs.readFileSync(path.join(wt, '.git'), 'utf8'))
  if (!m) throw new XpError('XP_QUEUE_WORKTREE', `${wt}/.git does not name a git dir`)
  // a project in a subfolder (its own xp.yaml) is found from where the task runs, as findRepo does
  const project = findProject(wt, path.resolve(wt, cwd))
  return {
    ctx,
    root: wt,
    gitDir: path.resolve(wt, m[1].trim()),
    commonDir: main.commonDir,
    xpDir: path.join(wt, '.xp'),
    cacheDir: main.cacheDir,
    ...(project ? { project } : {}),
  }
}

/** The run's own log folder (`.xp/runs/<id>/`) moves from the worktree to the user's `.xp`, as `xp run` leaves it. */
function keepRunDir(fromXp: string, toXp: string, id: string): void {
  const from = path.join(fromXp, 'runs', id)
  const to = path.join(toXp, 'runs', id)
  try {
    fs.mkdirSync(path.dirname(to), { recursive: true })
    fs.renameSync(from, to)
  } catch {
    // the run is recorded with its log in its tree; this copy is a convenience
  }
}
