// Journey: a subfolder project's sweep runs on a real one-node Slurm cluster with no
// shared file system (`--via-remote`): each job clones the bare git remote, fetches data
// from the folder data remote, runs, and pushes its run and outs back. A teammate's fresh
// clone then pulls, compares and applies a run (the out fetched on demand), and nothing of
// the secret the jobs had in their environment is on either remote.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { TestRepo, cleanupTmp, tmpDir } from './helpers.js'
import { makeBare } from './servers/git.js'
import { startSlurm, type SlurmCluster } from './servers/slurm.js'
import { allFiles } from './journeys-helpers.js'

let cluster: SlurmCluster

beforeAll(async () => {
  cluster = await startSlurm(tmpDir('xp-slurm-'), { cpus: 4 })
}, 30_000)

afterAll(async () => {
  await cluster?.stop()
  cleanupTmp()
}, 30_000)

const ok = (r: { code: number; stderr: string }) => expect(r.code, r.stderr).toBe(0)
const SECRET = 'Zq8Wv3Nc6Tb1Kx9Rm4Hd'

const TRAIN = `
const fs = require('fs')
const lr = Number(/lr: *([0-9.]+)/.exec(fs.readFileSync('params.yaml', 'utf8'))[1])
const rows = fs.readFileSync('data/train.csv', 'utf8').trim().split('\\n').length
console.log('job with key ' + process.env.WANDB_API_KEY)
fs.mkdirSync('models', { recursive: true })
fs.writeFileSync('models/model.bin', 'rows=' + rows + ' lr=' + lr + '\\n')
fs.writeFileSync('metrics.json', JSON.stringify({ acc: rows * lr }))
`

async function waitSettled(r: TestRepo, cwd: string, ms = 40_000) {
  const until = Date.now() + ms
  for (;;) {
    const { tasks } = r.json(['queue', 'status'], { cwd } as any) as { tasks: any[] }
    if (tasks.every((t) => !['queued', 'running'].includes(t.state))) return tasks
    if (Date.now() > until) throw new Error(`queue never settled: ${JSON.stringify(tasks, null, 1)}`)
    await new Promise((res) => setTimeout(res, 300))
  }
}

describe('journey: subfolder project on Slurm --via-remote -> teammate clone', () => {
  it("the sweep's runs and outs reach the remotes from the nodes; a fresh clone applies one; no secret anywhere", async () => {
    const repo = new TestRepo({
      files: {
        'README.md': '# monorepo\n',
        'svc/params.yaml': 'lr: 0.1\n',
        'svc/train.js': TRAIN,
      },
    })
    repo.env = { ...repo.env, ...cluster.env, WANDB_API_KEY: SECRET }
    const svc = repo.path('svc')
    ok(repo.xp(['init'], { cwd: svc }))
    repo.write(
      'svc/xp.yaml',
      `${repo.read('svc/xp.yaml')}\ncommand: node train.js\nparams: [params.yaml]\nmetrics: [metrics.json]\ndeps: [data]\nouts: [models/model.bin]\nartifacts:\n  model: {path: models/model.bin, type: model}\n`,
    )
    const store = tmpDir('xp-journey-data-')
    const bare = makeBare(tmpDir('xp-journey-git-'))
    ok(repo.xp(['remote', 'add', 'storage', store, '--default'], { cwd: svc }))
    repo.write('svc/data/train.csv', 'a,b\n1,2\n3,4\n')
    ok(repo.xp(['add', 'data'], { cwd: svc }))
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'svc project')
    repo.git('remote', 'add', 'origin', bare)
    repo.git('push', '-q', 'origin', 'main')

    ok(repo.xp(['run', '--queue', '-n', 'sweep', '-S', 'lr=0.2,0.4'], { cwd: svc }))
    const clones = tmpDir('xp-slurm-clones-')
    const start = repo.xp(['queue', 'start', '--slurm', '-j', '2', '--via-remote', 'origin', '--sbatch', `--output=${clones}/job-%A_%a.out`], {
      cwd: svc,
      env: { XP_SLURM_CLONES: clones },
    })
    ok(start)
    const tasks = await waitSettled(repo, svc)
    if (tasks.some((t) => t.state !== 'done'))
      console.log(
        'TASKS',
        JSON.stringify(tasks, null, 1),
        allFiles(clones)
          .filter((f) => f.endsWith('.out'))
          .map((f) => fs.readFileSync(f, 'utf8'))
          .join('\n----\n'),
      )
    expect(tasks.map((t) => [t.name, t.state])).toEqual([
      ['sweep-1', 'done'],
      ['sweep-2', 'done'],
    ])
    // recorded on a node, in a clone of its own: the run is still the svc project's
    const runs = repo.json(['show'], { cwd: svc })
    const s2 = runs.find((r: any) => r.name === 'sweep-2')
    expect(s2).toMatchObject({ status: 'succeeded', params: { lr: 0.4 }, project: 'svc' })
    expect(s2.metrics.acc).toBeCloseTo(1.2) // 3 lines of data (the node fetched it) x lr
    expect(repo.git('ls-tree', '-r', '--name-only', s2.commit)).toContain('svc/models/model.bin.xp')

    // the run a node made is promoted here, though its model's bytes never were on this machine
    ok(repo.xp(['model', 'assign', 'svc:model', 'sweep-2', '--stage', 'prod'], { cwd: svc }))
    ok(repo.xp(['push', 'origin'], { cwd: svc }))

    // a teammate: fresh clone, pull, compare, apply (the out comes from the data remote)
    const mate = new TestRepo({ init: false })
    mate.git('clone', '-q', '-b', 'main', bare, '.')
    ok(mate.xp(['pull', 'origin']))
    expect(mate.json(['diff', 'sweep-1', 'sweep-2']).params.lr).toMatchObject({ old: 0.2, new: 0.4 })
    ok(mate.xp(['apply', 'sweep-2'], { cwd: mate.path('svc') }))
    expect(mate.read('svc/models/model.bin')).toBe('rows=3 lr=0.4\n')
    expect(mate.read('svc/params.yaml')).toBe('lr: 0.4\n')
    const changed = mate
      .git('status', '--porcelain', '--untracked-files=all')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3))
      .sort()
    expect(changed).toEqual(['svc/metrics.json', 'svc/models/.gitignore', 'svc/models/model.bin.xp', 'svc/params.yaml'].filter((f) => changed.includes(f)))
    expect(changed).toContain('svc/params.yaml')
    expect(changed).not.toContain('svc/models/model.bin')
    ok(mate.xp(['model', 'get', 'svc:model@prod', '-o', mate.path('svc', 'prod.bin')], { cwd: mate.path('svc') }))
    expect(mate.read('svc/prod.bin')).toBe('rows=3 lr=0.4\n')

    // the jobs' log says what they pushed, with the key masked; no remote holds the key
    const log = repo.git('show', `${s2.commit}:.xp-run/output.log`)
    expect(log).toContain('job with key ***')
    const objects = spawnSync('git', ['--git-dir', bare, 'cat-file', '--batch-all-objects', '--batch'], { maxBuffer: 64 * 1024 * 1024 }).stdout.toString(
      'latin1',
    )
    expect(objects.includes(SECRET)).toBe(false)
    expect(allFiles(store).some((f) => fs.readFileSync(f, 'latin1').includes(SECRET))).toBe(false)
  }, 60_000)
})
