/**
 * Looking at and steering the queue: status, logs, cancel, retry, clear. Each first lets
 * `reapDead` settle tasks whose worker died, so nothing shows as running forever.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { git } from '../git.js'
import { XpError } from '../errors.js'
import { runNames } from '../runs/record-run.js'
import { reapDead, cleanupTask } from './reap.js'
import { isInside } from '../fsutil.js'
import {
  queuePaths,
  listTasks,
  readTask,
  writeTask,
  resolveTask,
  tryClaim,
  releaseClaim,
  ownClaim,
  readClaim,
  claimAlive,
  cancelFile,
  logFile,
  taskFile,
  TASK_STATES,
  type Task,
  type TaskState,
  type SlurmInfo,
} from './task.js'

export interface QueueStatus {
  counts: Record<TaskState, number>
  tasks: Task[]
}

/** Counts per state, from tasks. Pure. */
export function countStates(tasks: Task[]): Record<TaskState, number> {
  const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>
  for (const t of tasks) counts[t.state]++
  return counts
}

/**
 * Settle what happened out of sight: tasks handed to Slurm take Slurm's word (one squeue
 * call), then tasks of dead local workers are failed. Returns what Slurm says of the jobs
 * that may still run (shown, not written: their runners own the task files). Slurm out of
 * reach is a warning: the tasks show as last known.
 */
export async function settle(repo: Repo): Promise<Map<string, SlurmInfo>> {
  let live = new Map<string, SlurmInfo>()
  if (listTasks(queuePaths(repo)).some((t) => t.slurm)) {
    const { reconcileSlurm } = await import('./executors/slurm.js')
    try {
      live = (await reconcileSlurm(repo, (t) => cleanupTask(repo, t))).live
    } catch (e) {
      if (!(e instanceof XpError) || !/^XP_SLURM_/.test(e.code)) throw e
      repo.ctx.warn(`${e.message}; Slurm tasks show as last known`)
    }
  }
  await reapDead(repo)
  return live
}

/** Tasks with what Slurm says now of the jobs that may still run. */
const withLive = (tasks: Task[], live: Map<string, SlurmInfo>) => tasks.map((t) => (live.has(t.id) ? { ...t, slurm: live.get(t.id) } : t))

export async function queueStatus(repo: Repo): Promise<QueueStatus> {
  const live = await settle(repo)
  const tasks = withLive(listTasks(queuePaths(repo)), live)
  return { counts: countStates(tasks), tasks }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Cancel a task: a queued one never runs; a running one gets SIGINT (its run is recorded
 * as interrupted). Waits up to `waitMs` for a running task to stop.
 *
 * @example
 * const t = await cancelTask(repo, 'sweep-3') // t.state === 'cancelled'
 */
export async function cancelTask(repo: Repo, spec: string, opts: { waitMs?: number } = {}): Promise<Task> {
  await settle(repo)
  const q = queuePaths(repo)
  const task = resolveTask(listTasks(q), spec)
  if (task.slurm && (task.state === 'queued' || task.state === 'running')) return cancelSlurmTask(repo, task, opts.waitMs ?? 30_000)
  if (task.state === 'queued' && tryClaim(q, task.id, ownClaim(repo.ctx.now()))) {
    try {
      const fresh = readTask(q, task.id)
      if (fresh?.state === 'queued') {
        fresh.state = 'cancelled'
        fresh.reason = 'cancelled before it ran'
        fresh.ended = repo.ctx.now().toISOString()
        writeTask(q, fresh)
        return fresh
      }
    } finally {
      releaseClaim(q, task.id)
    }
  }
  const now = readTask(q, task.id) ?? task
  if (now.state !== 'queued' && now.state !== 'running')
    throw new XpError('XP_QUEUE_TASK_FINISHED', `task ${now.name} is ${now.state} already`, {
      hint: now.state === 'cancelled' ? undefined : 'remove finished tasks with `xp queue clear`',
      data: { id: now.id, state: now.state },
    })
  fs.mkdirSync(q.cancel, { recursive: true })
  fs.writeFileSync(cancelFile(q, task.id), repo.ctx.now().toISOString())
  const deadline = repo.ctx.now().getTime() + (opts.waitMs ?? 30_000)
  for (;;) {
    const t = readTask(q, task.id) ?? now
    if (t.state !== 'running' && t.state !== 'queued') return t
    if (repo.ctx.now().getTime() > deadline) return t
    const claim = readClaim(q, task.id)
    if (claim && !claimAlive(claim)) await reapDead(repo)
    await sleep(100)
  }
}

/**
 * A task Slurm holds: the cancel request first (so the job records its run as cancelled,
 * not failed), then `scancel`; waits until the job has ended and the task says so.
 */
async function cancelSlurmTask(repo: Repo, task: Task, waitMs: number): Promise<Task> {
  const q = queuePaths(repo)
  const { slurmExecutor } = await import('./executors/slurm.js')
  fs.mkdirSync(q.cancel, { recursive: true })
  fs.writeFileSync(cancelFile(q, task.id), repo.ctx.now().toISOString())
  await slurmExecutor(repo, { node: '', xp: '' }).cancel(task)
  const deadline = repo.ctx.now().getTime() + waitMs
  for (;;) {
    await settle(repo)
    const t = readTask(q, task.id) ?? task
    if (t.state !== 'running' && t.state !== 'queued') return t
    if (repo.ctx.now().getTime() > deadline) return t
    await sleep(300)
  }
}

/**
 * Queue a failed or cancelled task again, at the end of the queue. If it had recorded a
 * run, the new run needs a new name: NAME-retry, NAME-retry2...
 */
export async function retryTask(repo: Repo, spec: string): Promise<Task> {
  await settle(repo)
  const q = queuePaths(repo)
  const tasks = listTasks(q)
  const task = resolveTask(tasks, spec)
  if (task.state === 'queued' || task.state === 'running' || task.state === 'done')
    throw new XpError('XP_QUEUE_NOT_RETRYABLE', `task ${task.name} is ${task.state}; only failed or cancelled tasks are retried`, {
      hint: task.state === 'done' ? 'queue it again with `xp run --queue`' : undefined,
    })
  const exists = await git(['rev-parse', '-q', '--verify', `${task.ref}^{commit}`], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (exists.code !== 0)
    throw new XpError('XP_QUEUE_SNAPSHOT_MISSING', `the snapshot of task ${task.name} (${task.ref}) is gone`, { hint: 'queue it again with `xp run --queue`' })
  const taken = new Set([...(await runNames(repo)), ...tasks.filter((t) => t.id !== task.id).map((t) => t.name)])
  if (taken.has(task.name)) {
    const base = task.name.replace(/-retry\d*$/, '')
    let n = 1
    while (taken.has(`${base}-retry${n === 1 ? '' : n}`)) n++
    task.name = `${base}-retry${n === 1 ? '' : n}`
  }
  task.state = 'queued'
  task.created = repo.ctx.now().toISOString()
  task.index = 0
  // a task that ran on Slurm keeps how it was submitted, so the caller can submit it again
  if (task.slurm) task.resubmit = { remote: task.slurm.remote, sbatch: task.slurm.start_sbatch ?? [] }
  for (const k of ['reason', 'run', 'started', 'ended', 'worker', 'slurm'] as const) delete task[k]
  writeTask(q, task)
  return task
}

/**
 * The output of a task: what is there now and, while it runs, what follows, until it ends.
 * Returns the task as it ended (or as it is, when it was not running).
 */
export async function followTaskLog(repo: Repo, spec: string, opts: { onChunk: (b: Buffer) => void; follow?: boolean; signal?: AbortSignal }): Promise<Task> {
  let live = await settle(repo)
  const q = queuePaths(repo)
  let task = resolveTask(withLive(listTasks(q), live), spec)
  // a Slurm job's output file, as it grows, until the job ends
  if (task.slurm) {
    const file = task.slurm.output
    let at = 0
    const buf = Buffer.alloc(64 * 1024)
    for (;;) {
      try {
        const fd = fs.openSync(file, 'r')
        try {
          for (let n: number; (n = fs.readSync(fd, buf, 0, buf.length, at)) > 0; at += n) opts.onChunk(Buffer.from(buf.subarray(0, n)))
        } finally {
          fs.closeSync(fd)
        }
      } catch {
        // not written yet (pending), or on a node's own disk (--via-remote)
      }
      if (task.state !== 'running' && task.state !== 'queued') return task
      if (task.state === 'queued' && task.slurm?.state === 'PENDING') return task
      if (opts.follow === false || opts.signal?.aborted) return task
      await sleep(500)
      live = await settle(repo)
      task = withLive([readTask(q, task.id) ?? task], live)[0]
    }
  }
  let pos = 0
  const buf = Buffer.alloc(64 * 1024)
  const drain = () => {
    let fd: number
    try {
      fd = fs.openSync(logFile(q, task.id), 'r')
    } catch {
      return
    }
    try {
      for (let n: number; (n = fs.readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) opts.onChunk(Buffer.from(buf.subarray(0, n)))
    } finally {
      fs.closeSync(fd)
    }
  }
  for (let i = 0; ; i++) {
    drain()
    if (task.state !== 'running' || opts.follow === false || opts.signal?.aborted) return task
    await sleep(150)
    task = readTask(q, task.id) ?? task
    if (task.state === 'running' && i % 10 === 9) {
      const claim = readClaim(q, task.id)
      if (!claim || !claimAlive(claim)) {
        await reapDead(repo)
        task = readTask(q, task.id) ?? task
      }
    }
  }
}

/** Remove finished tasks (done, failed, cancelled): their files, logs and snapshot refs. Runs stay. */
export async function clearTasks(repo: Repo, opts: { states?: TaskState[] } = {}): Promise<Task[]> {
  await reapDead(repo)
  const q = queuePaths(repo)
  const states = opts.states ?? ['done', 'failed', 'cancelled']
  // logs of background workers that have exited go too
  for (const f of fs.existsSync(q.dir) ? fs.readdirSync(q.dir, { withFileTypes: true }) : []) {
    const m = /^worker-(\d+)\.log$/.exec(f.name)
    if (m && !claimAlive({ pid: Number(m[1]), host: ownClaim(repo.ctx.now()).host, started: '' })) fs.rmSync(path.join(q.dir, f.name), { force: true })
  }
  const all = listTasks(q)
  const gone = all.filter((t) => states.includes(t.state) && t.state !== 'running' && t.state !== 'queued')
  if (!gone.length) return []
  for (const t of gone) {
    fs.rmSync(taskFile(q, t.id), { force: true })
    fs.rmSync(logFile(q, t.id), { force: true })
    // a Slurm job's output, when it is ours (beside the queue), goes with its task
    if (t.slurm && isInside(q.dir, t.slurm.output)) fs.rmSync(t.slurm.output, { force: true })
  }
  // a job array's script and task list go with its last task
  const batches = new Set(all.filter((t) => !gone.includes(t) && t.slurm?.batch).map((t) => t.slurm!.batch))
  for (const b of new Set(gone.map((t) => t.slurm?.batch).filter((b): b is string => !!b && !batches.has(b))))
    for (const ext of ['.sh', '.ids']) fs.rmSync(path.join(q.dir, 'slurm', b + ext), { force: true })
  // a snapshot ref serves a whole batch: it goes with the batch's last task
  const kept = new Set(all.filter((t) => !gone.includes(t)).map((t) => t.ref))
  const refs = [...new Set(gone.map((t) => t.ref))].filter((r) => !kept.has(r))
  if (refs.length) await git(['update-ref', '--stdin'], { cwd: repo.root, env: repo.ctx.env, input: refs.map((r) => `delete ${r}\n`).join('') })
  return gone
}
