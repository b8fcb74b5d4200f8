/**
 * What the queue needs from whatever runs its tasks: hand tasks over, ask how they are in
 * one call, stop one, and find its output. The local worker and Slurm implement it; a
 * Kubernetes Jobs or CI-matrix executor would too (docs/queue.md maps them on paper).
 * Whatever the executor, a task itself runs through `executeTask` (execute.ts): the same
 * worktree, data and `recordRun` as a foreground `xp run`.
 */
import type { Task } from '../task.js'

/** What an executor says of one task, in its own words (Slurm: PENDING Resources, RUNNING on node...). */
export interface ExecutorStatus {
  state: string
  reason?: string
  node?: string
  exit_code?: string
}

export interface SubmitOptions {
  /** tasks at once (`-j`) */
  jobs: number
}

export interface Executor {
  readonly kind: 'local' | 'slurm'
  /** Hand queued tasks over; returns them as handed (the local executor: as run). */
  submit(tasks: Task[], opts: SubmitOptions): Promise<Task[]>
  /** The executor's view of these tasks, in one call however many there are. */
  status(tasks: Task[]): Promise<Map<string, ExecutorStatus>>
  /** Stop a task (a queued one never starts). */
  cancel(task: Task): Promise<void>
  /** The file where the task's output grows. */
  logs(task: Task): string
}
