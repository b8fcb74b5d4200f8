/**
 * `xp queue run-task` (hidden): one queued task, run where a scheduler put it, by the same
 * `executeTask` a local worker uses. Two ways to find the repository:
 * - shared file system: the job runs in the repository (sbatch --chdir), claims the task
 *   in `.xp/queue/` as a local worker would, and writes its run ref into the repository
 *   (`update-ref` is atomic; many jobs finishing at once each write their own ref);
 * - `--via-remote URL`: the tasks come with the job (base64), the job clones the git
 *   remote into a node-local folder, runs the task there, and pushes the run and its data
 *   (`xp push`); the submitting machine fetches it back (`xp queue status`, `xp pull`).
 *   The data cache is the node's (`$XP_SLURM_CACHE`, else beside the clones), kept between tasks.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { findRepo } from '../repo.js'
import { git } from '../git.js'
import { XpError } from '../errors.js'
import { executeTask, type LiveTask } from './execute.js'
import { checkRelPath } from '../safety/paths.js'
import { queuePaths, readTask, writeTask, tryClaim, ownClaim, decodeTask, type Task } from './task.js'

export interface RunTaskOptions {
  /** a task id, or */
  id?: string
  /** the file listing a job array's task ids (shared file system), or the base64 of its tasks (`--via-remote`) */
  batch?: string
  /** which line of the batch: SLURM_ARRAY_TASK_ID */
  index?: number
  /** the git remote the task's snapshot is on and its run goes back to */
  viaRemote?: string
  /** the command's output as it comes (the job's output file) */
  onOutput?: (chunk: Buffer) => void
  /** the run's control, so a signal from the scheduler interrupts and records it */
  live?: LiveTask
}

export interface RunTaskResult {
  task: Task | null
  /** why nothing ran (already claimed, cancelled meanwhile) */
  skipped?: string
}

function pick<T>(list: T[], index: number | undefined, what: string): T {
  const i = index ?? 0
  if (!Number.isInteger(i) || i < 0 || i >= list.length) throw new XpError('XP_QUEUE_TASK_NOT_FOUND', `${what} has no task number ${index}`)
  return list[i]
}

/** Run one task on the shared file system: the repository is `repo`. */
export async function runTaskShared(repo: Repo, o: RunTaskOptions): Promise<RunTaskResult> {
  const q = queuePaths(repo)
  const id = o.id ?? pick(fs.readFileSync(o.batch!, 'utf8').split('\n').filter(Boolean), o.index, o.batch!)
  const task = readTask(q, id)
  if (!task) throw new XpError('XP_QUEUE_TASK_NOT_FOUND', `no queued task ${id} in ${repo.root}`)
  if (task.state !== 'queued') return { task, skipped: `task ${task.name} is ${task.state}` }
  // a requeued job, or a local worker, may hold it: one runner per task
  if (!tryClaim(q, task.id, ownClaim(repo.ctx.now()))) return { task, skipped: `task ${task.name} is claimed by another worker` }
  return { task: await executeTask(repo, q, task, o.live ?? {}, { onOutput: o.onOutput }) }
}

/**
 * Run one task far from the repository: clone `viaRemote` into a node-local folder,
 * fetch the task's snapshot, run it, push the run and its data back. The clone is removed
 * afterwards whatever happened.
 */
export async function runTaskViaRemote(ctx: Repo['ctx'], o: RunTaskOptions & { tasksBase64: string }): Promise<RunTaskResult> {
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(o.tasksBase64, 'base64').toString('utf8'))
  } catch {
    raw = undefined
  }
  const tasks = (Array.isArray(raw) ? raw : [raw]).map((t, i) => decodeTask(t, `the job's task list [${i}]`))
  const task = pick(tasks, o.index, 'the job')
  const url = o.viaRemote!
  const base = ctx.env.XP_SLURM_CLONES || ctx.env.TMPDIR || os.tmpdir()
  const dir = fs.mkdtempSync(path.join(base, `xp-task-${task.id}-`))
  const g = (args: string[], cwd = dir) => git(args, { cwd, env: ctx.env, errorCode: 'XP_GIT_REMOTE_FAILED' })
  try {
    await g(['clone', '-q', '--no-checkout', url, dir], base)
    await g(['fetch', '-q', url, `+${task.ref}:${task.ref}`])
    // the root holds the snapshot (xp.yaml: the data remote), the task runs in its own worktree beside it
    await g(['checkout', '-q', '--detach', task.snapshot])
    // the data cache outlives the clone: one per node (objects are written whole or not at
    // all, so tasks side by side share it), and the next task on the node fetches nothing twice
    const cache = ctx.env.XP_SLURM_CACHE || path.join(base, 'xp-node-cache')
    // from where the task runs: a subfolder project's xp.yaml names the data remote to fetch from and push to
    const cwd = task.cwd ? path.join(dir, checkRelPath(task.cwd, "the task's folder")) : dir
    const repo = await findRepo({ ...ctx, cwd, env: { ...ctx.env, XP_CACHE_DIR: cache } })
    const q = queuePaths(repo)
    fs.mkdirSync(q.tasks, { recursive: true })
    const fresh: Task = { ...task, state: 'queued', attempts: task.attempts ?? 0 }
    delete fresh.slurm
    writeTask(q, fresh)
    tryClaim(q, task.id, ownClaim(ctx.now()))
    const { fetchObjects } = await import('../sync/data.js')
    const { referencedData } = await import('../sync/data.js')
    const done = await executeTask(repo, q, fresh, o.live ?? {}, {
      onOutput: o.onOutput,
      beforeData: async (wt) => {
        const oids = await referencedData(wt, { commits: [], worktree: true })
        const res = await fetchObjects(repo, oids)
        if (res.missing) wt.ctx.warn(`${res.missing} data object${res.missing === 1 ? '' : 's'} the task needs are on no data remote`)
      },
    })
    if (done.run) {
      const { pushRuns } = await import('../sync/push.js')
      await pushRuns(repo, { remote: url, runs: [done.run.id] })
      o.onOutput?.(Buffer.from(`xp: pushed run ${done.run.id} to ${url}\n`))
    }
    return { task: done }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
