/**
 * A task's temporary git worktree: detached at the baseline (so the run's parent is the
 * baseline), its index and files set to the queued snapshot in one `read-tree -u`, and
 * removed afterwards whatever happened.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { git } from '../git.js'
import { isInside } from '../fsutil.js'
import { XpError } from '../errors.js'

// `git worktree add` reads every other worktree's admin folder and fails on one being
// created at the same moment ("failed to read .git/worktrees/X/commondir"): adds in this
// process go one at a time, and a clash with another process is retried.
/** Worktrees a worker keeps between tasks are named `pool-<pid>-<n>`, so a dead worker's are known. */
export const POOL_PREFIX = 'pool-'

let addChain: Promise<unknown> = Promise.resolve()

/**
 * Whether `git worktree add` failed because another worktree was added or removed at the
 * same moment: then it is tried again. Besides the admin folder being read half-made, the
 * removal of the last other worktree deletes `.git/worktrees` itself when it empties, under
 * an add about to make its folder there ("could not create directory of
 * '.git/worktrees/X': No such file or directory": a task of the queue bench at -j 2 failed so).
 */
export function worktreeAddRaced(stderr: string): boolean {
  return /failed to read .*worktrees|could not lock|already exists|unable to create|could not create (?:leading directories|directory) of .*worktrees/i.test(
    stderr,
  )
}

export async function addWorktree(repo: Pick<Repo, 'root' | 'ctx'>, dir: string, baseline: string, tree: string): Promise<void> {
  fs.mkdirSync(path.dirname(dir), { recursive: true })
  const opts = { cwd: repo.root, env: repo.ctx.env, errorCode: 'XP_QUEUE_WORKTREE' as const }
  const add = async () => {
    for (let attempt = 0; ; attempt++) {
      const res = await git(['worktree', 'add', '-q', '--detach', '--no-checkout', dir, baseline], { ...opts, allowFail: true })
      if (res.code === 0) return
      if (attempt >= 5 || !worktreeAddRaced(res.stderr)) {
        const why = res.stderr.trim().split('\n').pop()
        throw new XpError('XP_QUEUE_WORKTREE', `could not create the task's worktree: ${why}`, { data: { stderr: res.stderr } })
      }
      fs.rmSync(dir, { recursive: true, force: true })
      await git(['worktree', 'prune'], { ...opts, allowFail: true })
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200))
    }
  }
  const mine = addChain.then(add, add)
  addChain = mine.catch(() => {})
  await mine
  await git(['read-tree', '-u', '--reset', tree], { ...opts, cwd: dir })
  await indexAtBaseline(repo, dir)
}

/**
 * The worktree's index back to the baseline, its files kept: what the user had untracked
 * when queuing is untracked in the task too, as in their working tree, so the run records
 * it the same way (an out the snapshot carried is cached and left as a pointer, not
 * committed as if the user tracked it). One recording path means the same inputs to it.
 */
async function indexAtBaseline(repo: Pick<Repo, 'ctx'>, dir: string): Promise<void> {
  await git(['reset', '-q', '--mixed', 'HEAD'], { cwd: dir, env: repo.ctx.env, errorCode: 'XP_QUEUE_WORKTREE' })
}

/**
 * Make a used worktree the next task's: nothing the last command wrote stays (`clean -ffdx`
 * also removes ignored files and nested repositories), tracked files, index and HEAD as
 * after `addWorktree` (`reset --hard` to the snapshot rewrites only the files that differ,
 * then HEAD back to the baseline, the index too).
 */
export async function resetWorktree(repo: Pick<Repo, 'ctx'>, dir: string, snapshot: string, baseline: string): Promise<void> {
  const opts = { cwd: dir, env: repo.ctx.env, errorCode: 'XP_QUEUE_WORKTREE' as const }
  await git(['reset', '-q', '--hard', snapshot], opts)
  await git(['clean', '-ffdxq'], opts)
  await git(['reset', '-q', '--soft', baseline], opts)
  await indexAtBaseline(repo, dir)
}

/** `git worktree remove --force`; if that fails, delete the folder and prune. Never throws. */
export async function removeWorktree(repo: Pick<Repo, 'root' | 'ctx'>, dir: string): Promise<void> {
  const opts = { cwd: repo.root, env: repo.ctx.env, allowFail: true }
  const res = await git(['worktree', 'remove', '--force', '--force', dir], opts)
  if (res.code === 0 && !fs.existsSync(dir)) return
  fs.rmSync(dir, { recursive: true, force: true })
  await git(['worktree', 'prune'], opts)
}

/**
 * Kill what a dead worker left running in a worktree: every process whose current folder
 * is inside it (Linux /proc; elsewhere nothing). Returns the pids signalled.
 */
export function killProcessesIn(dir: string): number[] {
  let pids: string[]
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))
  } catch {
    return []
  }
  const killed: number[] = []
  for (const p of pids) {
    let cwd: string
    try {
      cwd = fs.readlinkSync(`/proc/${p}/cwd`)
    } catch {
      continue
    }
    if (!isInside(dir, cwd) || Number(p) === process.pid) continue
    try {
      process.kill(Number(p), 'SIGKILL')
      killed.push(Number(p))
    } catch {
      // gone already, or not ours
    }
  }
  return killed
}
