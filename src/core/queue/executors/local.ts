/**
 * The local executor: tasks run on this machine by the queue's own worker, N at a time,
 * each through `executeTask`. The state lives in the task files, so status needs no call.
 */
import fs from 'node:fs'
import type { Repo } from '../../repo.js'
import { runQueue, type WorkerOptions } from '../worker.js'
import { queuePaths, cancelFile, logFile, type Task } from '../task.js'
import type { Executor, ExecutorStatus, SubmitOptions } from './types.js'

export function localExecutor(repo: Repo, worker: Omit<WorkerOptions, 'jobs'> = {}): Executor {
  const q = queuePaths(repo)
  return {
    kind: 'local',
    async submit(_tasks: Task[], opts: SubmitOptions) {
      // the worker takes every queued task, in queue order, including ones queued meanwhile
      return (await runQueue(repo, { ...worker, jobs: opts.jobs })).tasks
    },
    async status(tasks: Task[]) {
      return new Map<string, ExecutorStatus>(tasks.map((t) => [t.id, { state: t.state, reason: t.reason }]))
    },
    async cancel(task: Task) {
      fs.mkdirSync(q.cancel, { recursive: true })
      fs.writeFileSync(cancelFile(q, task.id), repo.ctx.now().toISOString())
    },
    logs: (task: Task) => logFile(q, task.id),
  }
}
