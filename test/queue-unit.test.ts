import { describe, it, expect, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { tmpDir, cleanupTmp } from './helpers.js'
import { expandGrid, taskNames } from '../src/core/queue/enqueue.js'
import { resolveTask, compareTasks, queuePaths, tryClaim, releaseClaim, ownClaim, claimAlive, type Task } from '../src/core/queue/task.js'
import { countStates } from '../src/core/queue/control.js'
import { parseSetArg } from '../src/core/params.js'

const task = (id: string, name: string, created = '2026-01-01T00:00:00.000Z', index = 0, state: Task['state'] = 'queued') =>
  ({ id, name, created, index, state }) as Task

afterAll(cleanupTmp)

describe('queue: pure parts', () => {
  it('expands a grid with the first -S varying slowest', () => {
    const axes = ['lr=0.1,0.01', 'model=a,"b,c"'].map((a) => parseSetArg(a, 'params.yaml'))
    expect(expandGrid(axes).map((c) => c.map((e) => e.value))).toEqual([
      [0.1, 'a'],
      [0.1, 'b,c'],
      [0.01, 'a'],
      [0.01, 'b,c'],
    ])
    expect(expandGrid([])).toEqual([[]])
    expect(expandGrid([parseSetArg('n=range(0, 3)', 'p.yaml')]).map((c) => c[0])).toEqual([0, 1, 2].map((value) => ({ file: 'p.yaml', key: 'n', value })))
  })

  it('names a single task NAME and a grid NAME-1, NAME-2...', () => {
    expect(taskNames('lr', 1)).toEqual(['lr'])
    expect(taskNames('lr', 3)).toEqual(['lr-1', 'lr-2', 'lr-3'])
  })

  it('resolves a task by id, prefix or name, and says when it cannot', () => {
    const tasks = [task('01abcdef00000000aaaa', 'one'), task('01abcdef00000000bbbb', 'two')]
    expect(resolveTask(tasks, 'two').id).toBe('01abcdef00000000bbbb')
    expect(resolveTask(tasks, '01abcdef00000000a').name).toBe('one')
    expect(() => resolveTask(tasks, '01ab')).toThrow(expect.objectContaining({ code: 'XP_QUEUE_TASK_AMBIGUOUS' }))
    expect(() => resolveTask(tasks, 'three')).toThrow(expect.objectContaining({ code: 'XP_QUEUE_TASK_NOT_FOUND' }))
  })

  it('orders tasks by time queued, then place in the grid, and counts states', () => {
    const t = [
      task('z', 'b', '2026-01-01T00:00:00.000Z', 1),
      task('y', 'c', '2026-01-02T00:00:00.000Z', 0, 'done'),
      task('x', 'a', '2026-01-01T00:00:00.000Z', 0, 'failed'),
    ]
    expect(t.sort(compareTasks).map((x) => x.name)).toEqual(['a', 'b', 'c'])
    expect(countStates(t)).toEqual({ queued: 1, running: 0, done: 1, failed: 1, cancelled: 0 })
  })
})

describe('queue: claims', () => {
  it('lets one process claim a task, and tells a live worker from a dead or reused pid', () => {
    const q = queuePaths({ xpDir: path.join(tmpDir(), '.xp') })
    const mine = ownClaim(new Date())
    expect(tryClaim(q, 'task1', mine)).toBe(true)
    expect(tryClaim(q, 'task1', { ...mine, pid: 1 })).toBe(false)
    releaseClaim(q, 'task1')
    expect(tryClaim(q, 'task1', mine)).toBe(true)
    expect(claimAlive(mine)).toBe(true)
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    expect(claimAlive({ ...mine, pid: Number(gone.stdout) })).toBe(false)
    if (mine.ticks !== undefined) expect(claimAlive({ ...mine, ticks: mine.ticks + 1 })).toBe(false)
    expect(claimAlive({ ...mine, pid: Number(gone.stdout), host: 'another-host' })).toBe(true)
  })
})

describe('a task worktree added while another is removed', () => {
  it('is added again when git lost the race (.git/worktrees deleted under it), and not for other failures', async () => {
    const { worktreeAddRaced, addWorktree } = await import('../src/core/queue/worktree.js')
    // what git 2.39 said in the queue bench at -j 2: the last other worktree's removal deleted .git/worktrees
    expect(worktreeAddRaced("fatal: could not create directory of '.git/worktrees/01m8qv3yrf6wmpdajna3': No such file or directory")).toBe(true)
    expect(worktreeAddRaced('fatal: invalid reference: nope')).toBe(false)
    // a real git meeting a .git/worktrees that is not there while it adds: a link to nowhere, gone 30 ms later
    const root = tmpDir()
    const env = {
      ...process.env,
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: root,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    }
    const git = (...args: string[]) => spawnSync('git', args, { cwd: root, env, encoding: 'utf8' })
    git('init', '-q')
    git('commit', '-q', '--allow-empty', '-m', 'a')
    const head = git('rev-parse', 'HEAD').stdout.trim()
    const tree = git('rev-parse', 'HEAD^{tree}').stdout.trim()
    const link = path.join(root, '.git', 'worktrees')
    fs.symlinkSync(path.join(root, 'nowhere', 'x'), link)
    const failed = git('worktree', 'add', '-q', '--detach', '--no-checkout', path.join(root, 'probe'), head)
    expect(worktreeAddRaced(failed.stderr)).toBe(true)
    setTimeout(() => fs.rmSync(link), 30)
    const dir = path.join(root, 'wt', 'task')
    await addWorktree({ root, ctx: { env } as never }, dir, head, tree)
    expect(git('worktree', 'list', '--porcelain').stdout).toContain(dir)
  })
})
