/**
 * The queue on a real one-node Slurm cluster (munged, slurmctld, slurmd) started by this
 * file on 127.0.0.1: a sweep as one job array, status while it runs, a failing task, a
 * cancelled one, retry, a refused submission, no sbatch at all, and `--via-remote` (a
 * bare git repo and a folder data remote). The time limit has its own file: Slurm's
 * granularity is a minute.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TestRepo, cleanupTmp, errorCode, tmpDir } from './helpers.js'
import { startSlurm, type SlurmCluster } from './servers/slurm.js'

let cluster: SlurmCluster

beforeAll(async () => {
  // 8 CPUs declared on 2 cores: many jobs finish at once, as on a cluster
  cluster = await startSlurm(tmpDir('xp-slurm-'), { cpus: 8 })
}, 30_000)

afterAll(async () => {
  await cluster?.stop()
  cleanupTmp()
}, 30_000)

function project(files: Record<string, string> = {}): TestRepo {
  const r = new TestRepo({ files: { 'params.yaml': 'lr: 0.1\nmodel: a\n', 'xp.yaml': 'metrics: [metrics.json]\n', '.gitignore': 'metrics.json\n', ...files } })
  r.env = { ...r.env, ...cluster.env }
  return r
}

interface TaskJson {
  id: string
  name: string
  state: string
  reason?: string
  run?: { id: string; status: string; exit_code: number | null }
  slurm?: { job: string; state?: string; reason?: string; node?: string; output: string }
}

const status = (r: TestRepo) => r.json<{ tasks: TaskJson[]; counts: Record<string, number> }>(['queue', 'status'])

/** Poll `xp queue status --json` until `ok` holds (or fail with the last status). */
async function waitStatus(r: TestRepo, ok: (tasks: TaskJson[]) => boolean, ms = 30_000): Promise<TaskJson[]> {
  const until = Date.now() + ms
  for (;;) {
    const { tasks } = status(r)
    if (ok(tasks)) return tasks
    if (Date.now() > until) throw new Error(`queue status never got there: ${JSON.stringify(tasks, null, 1)}`)
    await new Promise((res) => setTimeout(res, 300))
  }
}
const settled = (tasks: TaskJson[]) => tasks.every((t) => !['queued', 'running'].includes(t.state))

function worktrees(r: TestRepo): number {
  return r.git('worktree', 'list').trim().split('\n').length
}

describe('xp queue on Slurm (shared file system)', () => {
  it('runs a 2x2 grid as one job array, two at once, all four recorded, the workspace untouched; status while it runs', async () => {
    const marks = tmpDir('xp-slurm-marks-')
    const r = project({ 'xp.yaml': 'metrics: [metrics.json]\nslurm:\n  time: "10:00"\n' })
    const cmd = `echo start $(date +%s.%N) >> ${marks}/$XP_RUN_NAME; sleep 2; echo "{\\"score\\": $(grep lr params.yaml | cut -d' ' -f2)}" > metrics.json; echo end $(date +%s.%N) >> ${marks}/$XP_RUN_NAME`
    expect(r.xp(['run', '--queue', '-n', 'grid', '-S', 'lr=0.1,0.2', '-S', 'model=a,b', '--', 'sh', '-c', cmd]).code).toBe(0)
    const before = r.git('status', '--porcelain')
    const start = r.xp(['queue', 'start', '--slurm', '-j', '2', '--sbatch', '--comment=xp-sweep'])
    expect(start.code, start.stderr).toBe(0)
    expect(start.stderr).toMatch(/submitted 4 tasks to Slurm as job array \d+, 2 at once/)

    // while it runs: two running on the node, two pending at the array's limit, one squeue for all
    const mid = await waitStatus(r, (ts) => ts.filter((t) => t.slurm?.state === 'RUNNING').length === 2)
    expect(mid.filter((t) => t.slurm?.state === 'PENDING').map((t) => t.slurm!.reason)).toEqual(['JobArrayTaskLimit', 'JobArrayTaskLimit'])
    expect(mid.find((t) => t.slurm?.state === 'RUNNING')!.slurm!.node).toBe('localhost')
    const table = r.xp(['queue', 'status'])
    expect(table.stdout).toMatch(/job\s+slurm/)
    expect(table.stdout).toMatch(/RUNNING on localhost/)
    expect(table.stdout).toMatch(/PENDING JobArrayTaskLimit/)

    const done = await waitStatus(r, settled)
    expect(done.map((t) => [t.name, t.state, t.run?.status])).toEqual([
      ['grid-1', 'done', 'succeeded'],
      ['grid-2', 'done', 'succeeded'],
      ['grid-3', 'done', 'succeeded'],
      ['grid-4', 'done', 'succeeded'],
    ])
    const runs = r.json<any[]>(['show'])
    expect(runs.map((x) => [x.name, x.params.lr, x.params.model, x.metrics.score]).sort()).toEqual([
      ['grid-1', 0.1, 'a', 0.1],
      ['grid-2', 0.1, 'b', 0.1],
      ['grid-3', 0.2, 'a', 0.2],
      ['grid-4', 0.2, 'b', 0.2],
    ])
    // at most two at once, and two did overlap
    const spans = fs.readdirSync(marks).map((f) => {
      const [s, e] = fs
        .readFileSync(path.join(marks, f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => Number(l.split(' ')[1]))
      return { s, e }
    })
    const overlap = (t: number) => spans.filter((x) => x.s <= t && t < x.e).length
    expect(Math.max(...spans.map((x) => overlap(x.s)))).toBe(2)
    // nothing of the user's changed, no worktree or claim left
    expect(r.git('status', '--porcelain')).toBe(before)
    expect(r.read('params.yaml')).toBe('lr: 0.1\nmodel: a\n')
    expect(worktrees(r)).toBe(1)
    expect(fs.readdirSync(r.path('.xp/queue/claims'))).toEqual([])
    // xp.yaml's slurm: and --sbatch reached sbatch
    const job = spawnSync('scontrol', ['show', 'job', '-o', done[0].slurm!.job.split('_')[0]], {
      env: { ...process.env, ...cluster.env },
      encoding: 'utf8',
    }).stdout
    expect(job).toContain('TimeLimit=00:10:00')
    expect(job).toContain('Comment=xp-sweep')
    // the task's output is the job's output file
    expect(r.xp(['queue', 'logs', 'grid-2']).stdout).toMatch(/run grid-2 \(\w+\) succeeded/)
    // clear takes the tasks, their job outputs and the array's script and task list
    expect(r.xp(['queue', 'clear']).code).toBe(0)
    expect(fs.readdirSync(r.path('.xp/queue/slurm'))).toEqual([])
    expect(r.json<any[]>(['show'])).toHaveLength(4)
  }, 60_000)

  it('many jobs finishing at once all land their runs in the shared repository', async () => {
    const r = project()
    expect(
      r.xp([
        'run',
        '--queue',
        '-n',
        'many',
        '-S',
        'lr=range(1, 9)',
        '--',
        'sh',
        '-c',
        'echo "{\\"score\\": $(grep lr params.yaml | cut -d" " -f2)}" > metrics.json',
      ]).code,
    ).toBe(0)
    expect(r.xp(['queue', 'start', '--slurm', '-j', '8']).code).toBe(0)
    const tasks = await waitStatus(r, settled)
    expect(tasks.map((t) => t.state)).toEqual(Array(8).fill('done'))
    const runs = r.json<any[]>(['show'])
    expect(runs.map((x) => x.metrics.score).sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(r.git('for-each-ref', 'refs/xp/runs/').trim().split('\n')).toHaveLength(8)
    expect(worktrees(r)).toBe(1)
    expect(r.git('fsck', '--no-progress', '--no-dangling').trim()).toBe('')
  }, 45_000)

  it('a failing task is failed with its exit code; cancel stops a running job; retry resubmits', async () => {
    const flag = path.join(tmpDir('xp-slurm-flag-'), 'ok')
    const r = project()
    expect(r.xp(['run', '--queue', '-n', 'bad', '--', 'sh', '-c', `echo trying; test -f ${flag} || exit 3`]).code).toBe(0)
    // a task with its own sbatch option goes in its own array
    expect(r.xp(['run', '--queue', '-n', 'long', '--sbatch', '--comment=long-one', '--', 'sh', '-c', 'echo long; sleep 60']).code).toBe(0)
    expect(r.xp(['queue', 'start', '--slurm', '-j', '2']).stderr).toMatch(/as job arrays \d+, \d+/)
    const running = await waitStatus(
      r,
      (ts) => ts.find((t) => t.name === 'long')?.slurm?.state === 'RUNNING' && ts.find((t) => t.name === 'bad')?.state === 'failed',
    )
    const longJob = running.find((t) => t.name === 'long')!.slurm!.job
    expect(spawnSync('scontrol', ['show', 'job', '-o', longJob.split('_')[0]], { env: { ...process.env, ...cluster.env }, encoding: 'utf8' }).stdout).toContain(
      'Comment=long-one',
    )
    const cancel = r.xp(['queue', 'cancel', 'long', '--json'])
    expect(cancel.code, cancel.stderr).toBe(0)
    expect(JSON.parse(cancel.stdout)).toMatchObject({ name: 'long', state: 'cancelled' })

    const tasks = await waitStatus(r, (ts) => settled(ts) && ts.every((t) => t.slurm?.state && !['RUNNING', 'PENDING', 'COMPLETING'].includes(t.slurm.state)))
    const bad = tasks.find((t) => t.name === 'bad')!
    expect(bad).toMatchObject({ state: 'failed', reason: 'the command exited with 3', run: { status: 'failed', exit_code: 3 }, slurm: { state: 'FAILED' } })
    expect(r.xp(['queue', 'status']).stdout).toMatch(/FAILED exit 3:0/)
    const long = tasks.find((t) => t.name === 'long')!
    expect(long.state).toBe('cancelled')
    expect(long.slurm!.state).toBe('CANCELLED')
    // no stray worktree or claim; every run ref points at a whole, readable record
    expect(worktrees(r)).toBe(1)
    expect(fs.readdirSync(r.path('.xp/queue/claims'))).toEqual([])
    for (const run of r.json<any[]>(['show'])) expect(['bad', 'long']).toContain(run.name)

    // retry goes back to Slurm, under a new name since the run "bad" exists
    fs.writeFileSync(flag, '')
    const retry = r.xp(['queue', 'retry', 'bad', '--json'])
    expect(retry.code, retry.stderr).toBe(0)
    expect(JSON.parse(retry.stdout)).toMatchObject({ name: 'bad-retry', state: 'queued', slurm: { job: expect.stringMatching(/^\d+_0$/) } })
    const again = await waitStatus(r, (ts) => ts.find((t) => t.name === 'bad-retry')?.state === 'done')
    expect(again.find((t) => t.name === 'bad-retry')!.run!.status).toBe('succeeded')
  }, 60_000)

  it("a submission Slurm refuses is a coded error with sbatch's message, and the tasks stay queued", () => {
    const r = project()
    expect(r.xp(['run', '--queue', '-n', 'p', '--', 'true']).code).toBe(0)
    const res = r.xp(['queue', 'start', '--slurm', '--sbatch', '--partition=nosuch'])
    expect(res.code).toBe(1)
    expect(errorCode(res)).toBe('XP_SLURM_SUBMIT')
    expect(res.stderr).toContain('Invalid partition name specified')
    expect(status(r).tasks).toMatchObject([{ name: 'p', state: 'queued' }])
    expect(status(r).tasks[0].slurm).toBeUndefined()
    // a git remote whose URL holds a password is not written into jobs and task files
    const secret = r.xp(['queue', 'start', '--slurm', '--via-remote', 'https://me:hunter2@git.example.com/x.git'])
    expect(errorCode(secret)).toBe('XP_SECRET_IN_URL')
    expect(secret.stderr).not.toContain('hunter2')
    expect(JSON.stringify(status(r))).not.toContain('hunter2')
  })

  it('without sbatch: a coded error naming the Slurm client package', () => {
    const r = project()
    expect(r.xp(['run', '--queue', '-n', 'p', '--', 'true']).code).toBe(0)
    // a PATH with node and git only
    const bin = tmpDir('xp-nosbatch-')
    for (const tool of ['git', 'node']) {
      const where = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim()
      fs.symlinkSync(where, path.join(bin, tool))
    }
    const res = r.xp(['queue', 'start', '--slurm'], { env: { PATH: bin } })
    expect(errorCode(res)).toBe('XP_SLURM_MISSING')
    expect(res.stderr).toContain('slurm-client')
    expect(status(r).tasks).toMatchObject([{ name: 'p', state: 'queued' }])
  })
})

describe('xp queue on Slurm: a lost node', () => {
  it("a job whose node goes down fails with NODE_FAIL and Slurm's reason; no worktree or claim is left", async () => {
    const env = { ...process.env, ...cluster.env }
    const r = project()
    expect(r.xp(['run', '--queue', '-n', 'lost', '--', 'sh', '-c', 'echo working; sleep 60']).code).toBe(0)
    expect(r.xp(['queue', 'start', '--slurm']).code).toBe(0)
    await waitStatus(r, (ts) => ts[0].slurm?.state === 'RUNNING' && ts[0].state === 'running')
    try {
      const down = spawnSync('scontrol', ['update', 'NodeName=localhost', 'State=DOWN', 'Reason=xp-test'], { env, encoding: 'utf8' })
      expect(down.status, down.stderr).toBe(0)
      const [t] = await waitStatus(r, (ts) => settled(ts) && ts[0].slurm?.state === 'NODE_FAIL')
      expect(t.state).toBe('failed')
      expect(t.reason).toMatch(/^Slurm job \d+_0 NODE_FAIL: its node localhost failed/)
      await waitStatus(r, () => worktrees(r) === 1, 10_000)
      expect(fs.readdirSync(r.path('.xp/queue/claims'))).toEqual([])
    } finally {
      spawnSync('scontrol', ['update', 'NodeName=localhost', 'State=RESUME'], { env })
      for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((res) => setTimeout(res, 200)))
        if (/^idle/m.test(spawnSync('sinfo', ['-h', '-o', '%t'], { env, encoding: 'utf8' }).stdout)) break
    }
  }, 45_000)
})

describe('xp queue on Slurm --via-remote (no shared file system)', () => {
  it('jobs clone the git remote, run, push run and data; status and pull bring them back', async () => {
    const base = tmpDir('xp-slurm-remote-')
    const bare = path.join(base, 'origin.git')
    const store = path.join(base, 'store')
    fs.mkdirSync(store)
    spawnSync('git', ['init', '-q', '--bare', bare])
    const r = project({ 'xp.yaml': `metrics: [metrics.json]\ndeps: [data]\nouts: [model.bin]\nremote: store\nremotes:\n  store: {url: ${store}}\n` })
    r.write('data/train.csv', 'x\n1\n2\n')
    expect(r.xp(['add', 'data']).code).toBe(0)
    r.git('add', '-A')
    r.git('commit', '-q', '-m', 'data')
    r.git('remote', 'add', 'origin', bare)
    r.git('push', '-q', 'origin', 'main')
    const cmd = `wc -l < data/train.csv > model.bin; echo "{\\"rows\\": $(cat model.bin)}" > metrics.json`
    expect(r.xp(['run', '--queue', '-n', 'far', '-S', 'lr=1,2', '--', 'sh', '-c', cmd]).code).toBe(0)
    // the jobs' own clones live in a folder of ours, not the node's /tmp
    const clones = tmpDir('xp-slurm-clones-')
    const start = r.xp(['queue', 'start', '--slurm', '-j', '2', '--via-remote', 'origin', '--sbatch', `--output=${clones}/job-%A_%a.out`], {
      env: { XP_SLURM_CLONES: clones },
    })
    expect(start.code, start.stderr).toBe(0)
    const tasks = await waitStatus(r, settled)
    expect(tasks.map((t) => [t.name, t.state])).toEqual([
      ['far-1', 'done'],
      ['far-2', 'done'],
    ])
    // the runs came back through the bare repo: its refs, and here
    const onRemote = spawnSync('git', ['--git-dir', bare, 'for-each-ref', '--format=%(refname)', 'refs/xp/runs/'], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
    expect(onRemote.sort()).toEqual(tasks.map((t) => `refs/xp/runs/${t.run!.id}`).sort())
    const runs = r.json<any[]>(['show'])
    expect(runs.map((x) => [x.name, x.metrics.rows]).sort()).toEqual([
      ['far-1', 3],
      ['far-2', 3],
    ])
    // the out's bytes are on the data remote; xp pull brings them into the cache
    const oid: string = runs[0].outs['model.bin'].oid
    expect(fs.existsSync(path.join(store, oid.slice(0, 2), oid.slice(2)))).toBe(true)
    const pull = r.xp(['pull', 'origin', runs[0].name, '--all-data'])
    expect(pull.code, pull.stderr).toBe(0)
    expect(fs.readFileSync(r.path('.xp/cache', oid.slice(0, 2), oid.slice(2)), 'utf8').trim()).toBe('3')
    // the job's clone was removed; its output says it pushed
    expect(fs.readdirSync(clones).filter((f) => f.startsWith('xp-task-'))).toEqual([])
    // the node's data cache stays for the next task: the data and both outs are in it
    expect(fs.existsSync(path.join(clones, 'xp-node-cache', oid.slice(0, 2), oid.slice(2)))).toBe(true)
    expect(r.xp(['queue', 'logs', 'far-1']).stdout).toContain('xp: pushed run')
  }, 60_000)
})
