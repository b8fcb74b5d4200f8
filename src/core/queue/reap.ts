/**
 * Finishing what dead workers left. Every command that looks at the queue calls
 * `reapDead` first, so a task never shows as running forever after its worker was killed
 * or the machine restarted.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { removeWorktree, killProcessesIn, POOL_PREFIX } from './worktree.js'
import { queuePaths, readTask, writeTask, releaseClaim, readClaim, claimAlive, cancelFile, claimFile, worktreeDir, type Task } from './task.js'

/** What a task that ended without finishing leaves is removed: processes in its worktree, the worktree, cancel request, claim. */
export async function cleanupTask(repo: Repo, task: Task): Promise<void> {
  const q = queuePaths(repo)
  const dir = task.worktree ?? worktreeDir(q, task.id)
  killProcessesIn(dir)
  await removeWorktree(repo, dir)
  fs.rmSync(cancelFile(q, task.id), { force: true })
  releaseClaim(q, task.id)
}

/**
 * Finish what dead workers left: a task whose claim names a process that is gone is
 * marked failed with the reason, anything still running in its worktree is killed and
 * the worktree removed. Worktrees nobody claims are removed too. Returns the tasks failed.
 */
export async function reapDead(repo: Repo): Promise<Task[]> {
  const q = queuePaths(repo)
  const reaped: Task[] = []
  let claims: string[] = []
  try {
    claims = fs.readdirSync(q.claims).filter((n) => !n.startsWith('.'))
  } catch {
    // no claims folder: nothing ever ran
  }
  for (const id of claims) {
    const claim = readClaim(q, id)
    if (claim && claimAlive(claim)) continue
    if (!claim) {
      // claims appear whole (link); an unreadable one is damage: give it a minute before judging
      try {
        if (repo.ctx.now().getTime() - fs.statSync(claimFile(q, id)).mtimeMs < 60_000) continue
      } catch {
        continue
      }
    }
    const task = readTask(q, id)
    // a Slurm job's task is settled by what Slurm says of the job (reconcileSlurm), not by a pid
    if (task?.slurm && (task.state === 'running' || task.state === 'queued')) continue
    if (task && (task.state === 'running' || task.state === 'queued')) {
      const who = claim ? `pid ${claim.pid} on ${claim.host}` : 'unknown'
      if (task.state === 'running') {
        task.state = 'failed'
        task.reason = `the worker (${who}) died while the task ran: killed, or the machine restarted`
        task.ended = repo.ctx.now().toISOString()
        writeTask(q, task)
        reaped.push(task)
      }
    }
    const dir = task?.worktree ?? worktreeDir(q, id)
    killProcessesIn(dir)
    await removeWorktree(repo, dir)
    fs.rmSync(cancelFile(q, id), { force: true })
    releaseClaim(q, id)
  }
  let dirs: string[] = []
  try {
    dirs = fs.readdirSync(q.worktrees)
  } catch {
    // none
  }
  for (const name of dirs) {
    const pool = new RegExp(`^${POOL_PREFIX}(\\d+)-\\d+$`).exec(name)
    // a task's worktree lives as long as its claim; a pool's as long as its worker
    const orphan = pool ? !claimAlive({ pid: Number(pool[1]), host: os.hostname(), started: '' }) : !fs.existsSync(claimFile(q, name))
    if (!orphan) continue
    killProcessesIn(path.join(q.worktrees, name))
    await removeWorktree(repo, path.join(q.worktrees, name))
  }
  return reaped
}
