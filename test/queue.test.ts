import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { TestRepo, cleanupTmp, errorCode } from './helpers.js'

afterAll(cleanupTmp)

// A training script: reads params.yaml (flat "key: value" lines), may fail or wait, writes metrics.
const TRAIN = `
const fs = require('fs')
const p = {}
for (const line of fs.readFileSync('params.yaml', 'utf8').split('\\n')) {
  const m = /^(\\w+): *([^#]*?) *(#.*)?$/.exec(line)
  if (m) p[m[1]] = m[2]
}
console.log('pid ' + process.pid + ' params ' + JSON.stringify(p))
if (p.fail === 'true') { console.error('boom'); process.exit(3) }
const finish = () => {
  fs.writeFileSync('metrics.json', JSON.stringify({ score: Number(p.lr) * 10 + (p.model === 'b' ? 1 : 0), version: VERSION }))
}
if (Number(p.wait) > 0) {
  console.log('ready')
  const t = setTimeout(finish, Number(p.wait) * 1000)
  process.on('SIGINT', () => { console.log('got SIGINT'); clearTimeout(t); process.exit(130) })
} else finish()
`
const train = (version = 1) => TRAIN.replace('VERSION', String(version))

function project(): TestRepo {
  return new TestRepo({
    files: {
      'params.yaml': 'lr: 0.1 # learning rate\nmodel: a\nfail: false\nwait: 0\n',
      'train.js': train(),
      'xp.yaml': 'metrics: [metrics.json]\n',
      '.gitignore': 'metrics.json\n',
    },
  })
}

interface RunInfo {
  id: string
  name: string
  status: string
  params: Record<string, unknown>
  metrics: Record<string, unknown>
  baseline: string
  branch: string | null
  commit: string
}

/** Every run, read from the refs the way any git user could. */
function runs(r: TestRepo): RunInfo[] {
  const out = r.git('for-each-ref', '--format=%(objectname)%00%(contents)%00', 'refs/xp/runs/')
  const parts = out.split('\0')
  const list: RunInfo[] = []
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const rec: Record<string, unknown> = {}
    for (const line of parts[i + 1].split('\n\n').slice(1).join('\n\n').split('\n')) {
      const sep = line.indexOf(': ')
      if (sep > 0) rec[line.slice(0, sep)] = JSON.parse(line.slice(sep + 2))
    }
    list.push({ ...(rec as unknown as RunInfo), commit: parts[i].trim() })
  }
  return list.sort((a, b) => a.name.localeCompare(b.name))
}

/** Hash of every file of the workspace (but xp's own `.xp/` and git's objects), the index and HEAD. */
function fingerprint(r: TestRepo): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name)
      const rel = path.relative(r.dir, abs)
      if (rel === '.git' || rel === '.xp') continue
      if (e.isDirectory()) walk(abs)
      else out[rel] = createHash('sha256').update(fs.readFileSync(abs)).digest('hex')
    }
  }
  walk(r.dir)
  for (const f of ['index', 'HEAD'])
    out[`.git/${f}`] = createHash('sha256')
      .update(fs.readFileSync(r.path('.git', f)))
      .digest('hex')
  out['status --porcelain'] = r.git('status', '--porcelain', '--untracked-files=all')
  out['rev-parse HEAD'] = r.git('rev-parse', 'HEAD')
  return out
}

function status(r: TestRepo) {
  return r.json<{ counts: Record<string, number>; tasks: any[] }>(['queue', 'status'])
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms))

async function until<T>(what: string, f: () => T | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = f()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

function worktrees(r: TestRepo): string[] {
  return r
    .git('worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
}

/** Running, and not a zombie (an init that is slow to reap would keep those around). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

describe('xp queue', () => {
  it('runs a 2x2 grid at -j 2 as four runs, leaving the workspace byte-identical', () => {
    const r = project()
    // uncommitted and untracked state that queued runs must neither see changed nor change
    r.write('notes.txt', 'my notes\n')
    r.write('params.yaml', 'lr: 0.1 # learning rate\nmodel: a\nfail: false\nwait: 0\n# a comment\n')
    r.git('add', 'notes.txt')
    r.write('scratch.txt', 'untracked\n')
    r.git('status') // let git refresh its index once, so later fingerprints compare like with like
    const before = fingerprint(r)
    const q = r.xp(['run', '--queue', '-n', 'grid', '-S', 'lr=0.1,0.2', '-S', 'model=a,b', '--', 'node', 'train.js'])
    expect(q.code, q.stderr).toBe(0)
    expect(q.stderr).toContain('queued 4 tasks: grid-1, grid-2, grid-3, grid-4')
    expect(status(r).counts).toMatchObject({ queued: 4, running: 0 })
    expect(r.xp(['queue', 'logs', 'grid-1']).stderr).toContain('is queued')

    const s = r.xp(['queue', 'start', '-j', '2'])
    expect(s.code, s.stderr).toBe(0)
    expect(s.stderr).toContain('4 tasks run, 0 failed')

    const list = runs(r)
    expect(list.map((x) => [x.name, x.status, x.params.lr, x.params.model, x.metrics.score])).toEqual([
      ['grid-1', 'succeeded', 0.1, 'a', 1],
      ['grid-2', 'succeeded', 0.1, 'b', 2],
      ['grid-3', 'succeeded', 0.2, 'a', 2],
      ['grid-4', 'succeeded', 0.2, 'b', 3],
    ])
    const head = r.git('rev-parse', 'HEAD').trim()
    for (const run of list) {
      expect(run.baseline).toBe(head)
      expect(run.branch).toBe('main')
      expect(r.git('rev-parse', `${run.commit}^`).trim()).toBe(head)
      // the run's tree is what the command left: edited params (comments kept), metrics, the queued untracked file
      const params = r.git('show', `${run.commit}:params.yaml`)
      expect(params).toMatch(new RegExp(`^lr: ${run.params.lr}\\b.*\\nmodel: ${run.params.model}\\n`))
      expect(params).toContain('# a comment\n')
      expect(JSON.parse(r.git('show', `${run.commit}:metrics.json`)).score).toBe(run.metrics.score)
      expect(r.git('show', `${run.commit}:notes.txt`)).toBe('my notes\n')
    }
    const st = status(r)
    expect(st.counts).toMatchObject({ queued: 0, running: 0, done: 4, failed: 0 })
    expect(st.tasks.map((t) => t.run.id).sort()).toEqual(list.map((x) => x.id).sort())

    expect(fingerprint(r)).toEqual(before)
    expect(worktrees(r)).toHaveLength(1)
    expect(fs.readdirSync(r.path('.xp/queue/worktrees'))).toEqual([])
    // the run's own log sits where `xp run` leaves it
    expect(fs.readFileSync(r.path('.xp/runs', list[0].id, 'output.log'), 'utf8')).toContain('params')
  })

  it('records a failing task among good ones, and retries it under a new name', () => {
    const r = project()
    expect(r.xp(['run', '--queue', '-n', 'mix', '-S', 'fail=false,true,false', '--', 'node', 'train.js']).code).toBe(0)
    const s = r.xp(['queue', 'start', '-j', '2'])
    expect(s.code).toBe(1)
    expect(s.stderr).toContain('3 tasks run, 1 failed')
    const st = status(r)
    expect(st.tasks.map((t) => [t.name, t.state, t.run?.status])).toEqual([
      ['mix-1', 'done', 'succeeded'],
      ['mix-2', 'failed', 'failed'],
      ['mix-3', 'done', 'succeeded'],
    ])
    expect(st.tasks[1].reason).toBe('the command exited with 3')
    expect(runs(r).map((x) => [x.name, x.status])).toEqual([
      ['mix-1', 'succeeded'],
      ['mix-2', 'failed'],
      ['mix-3', 'succeeded'],
    ])
    const logs = r.xp(['queue', 'logs', 'mix-2'])
    expect(logs.stdout).toContain('boom')

    const retry = r.json(['queue', 'retry', 'mix-2'])
    expect(retry).toMatchObject({ name: 'mix-2-retry', state: 'queued', attempts: 1 })
    expect(errorCode(r.xp(['queue', 'retry', 'mix-1']))).toBe('XP_QUEUE_NOT_RETRYABLE')
    r.xp(['queue', 'start'])
    expect(runs(r).map((x) => x.name)).toContain('mix-2-retry')
    expect(worktrees(r)).toHaveLength(1)
  })

  it('cancels a queued task (it never runs) and a running one (recorded as interrupted)', async () => {
    const r = project()
    expect(r.xp(['run', '--queue', '-n', 'c', '-S', 'wait=30,0,0', '--', 'node', 'train.js']).code).toBe(0)
    const queuedCancel = r.json(['queue', 'cancel', 'c-3'])
    expect(queuedCancel).toMatchObject({ name: 'c-3', state: 'cancelled' })

    const worker = r.spawnXp(['queue', 'start', '-j', '1'])
    let workerErr = ''
    worker.stderr.on('data', (d) => (workerErr += d))
    const exited = new Promise<number | null>((res) => worker.on('close', (code) => res(code)))
    await until(
      'c-1 to be running',
      () =>
        r.exists('.xp/queue/worktrees') && status(r).tasks[0].state === 'running' && r.read(`.xp/queue/logs/${status(r).tasks[0].id}.log`).includes('ready'),
    )

    // logs follows the running task until it ends
    const logs = r.spawnXp(['queue', 'logs', 'c-1'])
    let logOut = ''
    logs.stdout.on('data', (d) => (logOut += d))
    const logsDone = new Promise<number | null>((res) => logs.on('close', (code) => res(code)))
    await until('logs to show the running output', () => logOut.includes('ready'))

    const c = r.xp(['queue', 'cancel', 'c-1', '--json'])
    expect(c.code, c.stderr).toBe(0)
    expect(JSON.parse(c.stdout)).toMatchObject({ name: 'c-1', state: 'cancelled', run: { status: 'interrupted' } })
    expect(await logsDone).toBe(0)
    expect(logOut).toContain('got SIGINT')

    expect(await exited).toBe(0)
    expect(workerErr).toContain('done c-2')
    const st = status(r)
    expect(st.tasks.map((t) => [t.name, t.state])).toEqual([
      ['c-1', 'cancelled'],
      ['c-2', 'done'],
      ['c-3', 'cancelled'],
    ])
    expect(runs(r).map((x) => [x.name, x.status])).toEqual([
      ['c-1', 'interrupted'],
      ['c-2', 'succeeded'],
    ])
    expect(errorCode(r.xp(['queue', 'cancel', 'c-2']))).toBe('XP_QUEUE_TASK_FINISHED')
    expect(worktrees(r)).toHaveLength(1)
  })

  it.each([[''], ['--reuse-worktrees']])('marks the task of a worker killed with SIGKILL failed and cleans its worktree %s', async (flag) => {
    const r = project()
    expect(r.xp(['run', '--queue', '-n', 'k', '-S', 'wait=60', '--', 'node', 'train.js']).code).toBe(0)
    const worker = r.spawnXp(['queue', 'start', ...(flag ? [flag] : [])])
    const exited = new Promise((res) => worker.on('close', res))
    const id = status(r).tasks[0].id
    const log = `.xp/queue/logs/${id}.log`
    await until('the task to run', () => r.exists(log) && r.read(log).includes('ready'))
    const commandPid = Number(/pid (\d+)/.exec(r.read(log))![1])
    expect(worktrees(r)).toHaveLength(2)
    worker.kill('SIGKILL')
    await exited

    const st = status(r)
    expect(st.tasks[0].state).toBe('failed')
    expect(st.tasks[0].reason).toMatch(/worker \(pid \d+ on .*\) died/)
    expect(worktrees(r)).toHaveLength(1)
    expect(fs.readdirSync(r.path('.xp/queue/worktrees'))).toEqual([])
    expect(fs.readdirSync(r.path('.xp/queue/claims'))).toEqual([])
    await until('the orphaned command to be gone', () => !alive(commandPid), 5000)
    expect(runs(r)).toEqual([])
    // it can be run again
    r.xp(['queue', 'retry', 'k'])
    expect(status(r).tasks[0]).toMatchObject({ name: 'k', state: 'queued' })
  })

  it('with --reuse-worktrees, gives every task a clean tree: nothing a previous task wrote, changed or ignored', () => {
    const r = project()
    r.write('README', 'original\n')
    r.write('same.txt', 'aaaa\n')
    r.write('.gitignore', 'metrics.json\n*.log\n')
    r.git('add', '-A')
    r.git('commit', '-q', '-m', 'readme')
    const script = [
      "const fs=require('fs')",
      "const seen={left:fs.existsSync('left.txt'),ignored:fs.existsSync('debug.log'),readme:fs.readFileSync('README','utf8'),same:fs.readFileSync('same.txt','utf8'),gone:!fs.existsSync('train.js')}",
      "fs.writeFileSync('left.txt','x');fs.writeFileSync('debug.log','x');fs.appendFileSync('README','changed\\n');fs.writeFileSync('same.txt','bbbb\\n');fs.rmSync('train.js')",
      "fs.writeFileSync('metrics.json',JSON.stringify(seen))",
    ].join(';')
    expect(r.xp(['run', '--queue', '-n', 'reuse', '-S', 'lr=range(1, 5)', '--', 'node', '-e', script]).code).toBe(0)
    const s = r.xp(['queue', 'start', '-j', '2', '--reuse-worktrees'])
    expect(s.code, s.stderr).toBe(0)
    const list = runs(r)
    expect(list.map((x) => [x.name, x.status, x.params.lr])).toEqual([1, 2, 3, 4].map((i) => [`reuse-${i}`, 'succeeded', i]))
    for (const run of list) {
      // same.txt is rewritten with as many bytes, in the second it was checked out: git must still see it
      expect(run.metrics).toEqual({ left: false, ignored: false, readme: 'original\n', same: 'aaaa\n', gone: false })
      expect(r.git('show', `${run.commit}:same.txt`)).toBe('bbbb\n')
      expect(r.git('rev-parse', `${run.commit}^`).trim()).toBe(r.git('rev-parse', 'HEAD').trim())
      expect(r.git('show', `${run.commit}:params.yaml`)).toContain(`lr: ${run.params.lr}`)
      expect(r.git('show', `${run.commit}:README`)).toBe('original\nchanged\n')
      expect(r.git('ls-tree', '--name-only', run.commit)).not.toContain('train.js')
    }
    expect(worktrees(r)).toHaveLength(1)
    expect(fs.readdirSync(r.path('.xp/queue/worktrees'))).toEqual([])
  })

  it('stops on SIGINT: the running task is recorded as interrupted, the rest stays queued', async () => {
    const r = project()
    expect(r.xp(['run', '--queue', '-n', 'stop', '-S', 'wait=30,0', '--', 'node', 'train.js']).code).toBe(0)
    const worker = r.spawnXp(['queue', 'start'])
    const exited = new Promise((res) => worker.on('close', res))
    const id = status(r).tasks[0].id
    await until('the task to run', () => r.exists(`.xp/queue/logs/${id}.log`) && r.read(`.xp/queue/logs/${id}.log`).includes('ready'))
    worker.kill('SIGINT')
    expect(await exited).toBe(130)
    const st = status(r)
    expect(st.tasks.map((t) => [t.name, t.state, t.run?.status])).toEqual([
      ['stop-1', 'failed', 'interrupted'],
      ['stop-2', 'queued', undefined],
    ])
    expect(st.tasks[0].reason).toContain('interrupted')
    expect(worktrees(r)).toHaveLength(1)
  })

  it('never runs a task twice when two workers share the queue', async () => {
    const r = project()
    expect(r.xp(['run', '--queue', '-n', 'two', '-S', 'wait=0.2', '-S', 'lr=range(1, 7)', '--', 'node', 'train.js']).code).toBe(0)
    const workers = [0, 1].map(() => r.spawnXp(['queue', 'start', '-j', '2']))
    const codes = await Promise.all(workers.map((w) => new Promise((res) => w.on('close', res))))
    expect(codes).toEqual([0, 0])
    const list = runs(r)
    expect(list.map((x) => x.name)).toEqual(['two-1', 'two-2', 'two-3', 'two-4', 'two-5', 'two-6'])
    expect(list.every((x) => x.status === 'succeeded')).toBe(true)
    expect(status(r).counts).toMatchObject({ done: 6, failed: 0 })
    expect(worktrees(r)).toHaveLength(1)
  })

  it('runs the code as it was when queued, uncommitted changes and untracked files included', () => {
    const r = project()
    r.write('train.js', train(2)) // uncommitted change
    r.write('helper.txt', 'untracked helper\n')
    expect(r.xp(['run', '--queue', '-n', 'v2', '--', 'node', 'train.js']).code).toBe(0)
    // the user goes on editing: the queued task must not see this
    r.write('train.js', train(3))
    fs.rmSync(r.path('helper.txt'))
    expect(r.xp(['queue', 'start']).code).toBe(0)
    const [run] = runs(r)
    expect(run).toMatchObject({ name: 'v2', status: 'succeeded', metrics: { version: 2 } })
    expect(r.git('show', `${run.commit}:helper.txt`)).toBe('untracked helper\n')
    expect(r.read('train.js')).toBe(train(3))
    expect(r.exists('helper.txt')).toBe(false)

    // a command queued from a subfolder runs from that folder of the worktree
    r.write('sub/readme.txt', 'sub\n')
    const script = "require('fs').writeFileSync('../metrics.json', JSON.stringify({ dir: require('path').basename(process.cwd()) }))"
    expect(r.xp(['run', '--queue', '-n', 'sub', '--', 'node', '-e', script], { cwd: r.path('sub') }).code).toBe(0)
    expect(r.xp(['queue', 'start']).code).toBe(0)
    expect(runs(r).find((x) => x.name === 'sub')?.metrics).toEqual({ dir: 'sub' })
  })

  it('expands range() and keeps quoted commas; a grid without --queue is an error', () => {
    const r = project()
    const grid = r.xp(['run', '-S', 'lr=0.1,0.2', '--', 'node', 'train.js'])
    expect(grid.code).toBe(2)
    expect(errorCode(grid)).toBe('XP_GRID_NEEDS_QUEUE')
    expect(grid.stderr).toContain('--queue')
    expect(r.xp(['run', '--queue', '-n', 'g', '-S', 'model=x', '-S', 'lr=0.1,0.2', '--', 'node', 'train.js', 'arg']).code).toBe(0)

    const q = r.xp(['run', '--queue', '--json', '-n', 'rg', '-S', 'lr=range(1, 2.5, 0.5)', '-S', 'model="a,b",c', '--', 'node', 'train.js'])
    expect(q.code, q.stderr).toBe(0)
    const ranged = JSON.parse(q.stdout)
    expect(ranged.map((t: any) => [t.name, t.edits.map((e: any) => e.value)])).toEqual([
      ['rg-1', [1, 'a,b']],
      ['rg-2', [1, 'c']],
      ['rg-3', [1.5, 'a,b']],
      ['rg-4', [1.5, 'c']],
      ['rg-5', [2, 'a,b']],
      ['rg-6', [2, 'c']],
    ])
    expect(errorCode(r.xp(['run', '--queue', '-n', 'g-1', '-S', 'lr=1', '--', 'true']))).toBe('XP_RUN_NAME_TAKEN')
    expect(errorCode(r.xp(['run', '--queue', '-S', 'other.yaml:lr=1', '--', 'true']))).toBe('XP_PARAMS_FILE_MISSING')
    expect(errorCode(r.xp(['queue', 'cancel', 'nope']))).toBe('XP_QUEUE_TASK_NOT_FOUND')
    expect(r.xp(['queue', 'start', '-j', '0']).code).toBe(2)
    expect(status(r).counts.queued).toBe(8)
    expect(r.read('params.yaml')).toBe('lr: 0.1 # learning rate\nmodel: a\nfail: false\nwait: 0\n')
  })

  it('works in the background with --detach', async () => {
    const r = project()
    r.xp(['run', '--queue', '-n', 'd', '-S', 'lr=0.3', '--', 'node', 'train.js'])
    const s = r.xp(['queue', 'start', '--detach'])
    expect(s.code, s.stderr).toBe(0)
    await until('the detached worker to finish', () => status(r).counts.done === 1)
    expect(runs(r)[0]).toMatchObject({ name: 'd', metrics: { score: 3 } })
    expect(fs.readdirSync(r.path('.xp/queue')).some((f) => /^worker-\d+\.log$/.test(f))).toBe(true)
    const cleared = r.json(['queue', 'clear'])
    expect(cleared).toHaveLength(1)
    expect(status(r).tasks).toEqual([])
    expect(r.git('for-each-ref', 'refs/xp/queue/')).toBe('')
  })

  it('links tracked data from the shared cache into the task', () => {
    const r = project()
    r.write('data/train.csv', 'rows: 42\n')
    r.write('data/shards/sub/part.txt', 'part one\n')
    expect(r.xp(['add', 'data/train.csv', 'data/shards']).code).toBe(0)
    r.git('add', '-A')
    r.git('commit', '-q', '-m', 'data')
    const script =
      "const fs=require('fs');fs.writeFileSync('metrics.json',JSON.stringify({rows:fs.readFileSync('data/train.csv','utf8'),part:fs.readFileSync('data/shards/sub/part.txt','utf8')}))"
    r.xp(['run', '--queue', '-n', 'data', '--', 'node', '-e', script])
    expect(r.xp(['queue', 'start']).code).toBe(0)
    expect(runs(r)[0].metrics).toEqual({ rows: 'rows: 42\n', part: 'part one\n' })
    expect(r.read('data/train.csv')).toBe('rows: 42\n')
  })

  it('runs a task without data that is missing from the cache, with a warning', () => {
    const r = project()
    r.write('data/train.csv', 'rows: 42\n')
    expect(r.xp(['add', 'data/train.csv']).code).toBe(0)
    r.git('add', '-A')
    r.git('commit', '-q', '-m', 'data')
    fs.rmSync(r.path('.xp/cache'), { recursive: true, force: true })
    r.xp([
      'run',
      '--queue',
      '-n',
      'nodata',
      '--',
      'node',
      '-e',
      "require('fs').writeFileSync('metrics.json', JSON.stringify({has: require('fs').existsSync('data/train.csv')}))",
    ])
    const res = r.xp(['queue', 'start'])
    expect(res.code).toBe(0)
    expect(res.stderr + r.xp(['queue', 'logs', runs(r)[0].name]).stdout).toMatch(/not in the cache|XP_CACHE_MISSING|missing/i)
    expect(runs(r)[0].metrics).toEqual({ has: false })
  })
})
