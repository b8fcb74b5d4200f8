// Journeys across clones for runs that were not made by a foreground `xp run`:
// DVC experiments brought in by `xp import dvc`, and queued runs of a subfolder project.
// Each: make runs -> push to a bare git remote and a folder data remote -> fresh clone ->
// pull -> show/diff -> apply, as a teammate would.
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { TestRepo, cleanupTmp, tmpDir, ROOT } from './helpers.js'
import { makeBare } from './servers/git.js'
import { allFiles } from './journeys-helpers.js'

afterAll(() => cleanupTmp())

const ok = (r: { code: number; stderr: string }) => expect(r.code, r.stderr).toBe(0)

/** A fresh clone of a bare remote's main, with xp pulled from it. */
function cloneAndPull(bare: string): TestRepo {
  const clone = new TestRepo({ init: false })
  clone.git('clone', '-q', '-b', 'main', bare, '.')
  ok(clone.xp(['pull', 'origin']))
  return clone
}

describe('journey: xp import dvc -> push -> clone -> pull -> show, diff, apply', () => {
  it("a teammate's clone lists, diffs and applies the imported DVC experiments", () => {
    const repo = new TestRepo({ init: false })
    const bundle = path.join(ROOT, 'fixtures', 'dvc', 'dvc-exps-201.bundle')
    repo.git('clone', '-q', bundle, '.')
    repo.git('checkout', '-q', '-B', 'main')
    repo.git('fetch', '-q', bundle, 'refs/exps/*:refs/exps/*')
    const store = tmpDir('xp-journey-data-')
    const bare = makeBare(tmpDir('xp-journey-git-'))
    ok(repo.xp(['remote', 'add', 'storage', store, '--default']))
    repo.git('add', 'xp.yaml')
    repo.git('commit', '-qm', 'xp data remote')
    repo.git('remote', 'remove', 'origin')
    repo.git('remote', 'add', 'origin', bare)
    repo.git('push', '-q', 'origin', 'main')

    const imported = repo.json(['import', 'dvc', '--all']) // HEAD moved on: their baseline is main's parent now
    expect(imported.imported).toHaveLength(200)
    const shown = repo.json(['show'])
    expect(shown).toHaveLength(200)
    const diff = repo.json(['diff', 'mucky-yell', shown[0].name])
    ok(repo.xp(['push', 'origin']))
    // DVC's own refs are DVC's: xp pushes runs, not refs/exps/*
    expect(repo.git('ls-remote', bare, 'refs/exps/*')).toBe('')
    expect(repo.git('ls-remote', bare, 'refs/xp/runs/*').trim().split('\n')).toHaveLength(200)

    const clone = cloneAndPull(bare)
    const strip = (rs: any[]) => rs.map(({ ref, ...r }: any) => r).sort((x: any, y: any) => (x.id < y.id ? -1 : 1))
    expect(strip(clone.json(['show']))).toEqual(strip(shown))
    expect(clone.json(['diff', 'mucky-yell', shown[0].name])).toEqual(diff)
    const one = shown.find((r: any) => r.name === 'mucky-yell')
    expect(one).toMatchObject({ params: { lr: 0.2, epochs: 200 }, command: 'python3 train.py' })

    const applied = clone.xp(['apply', 'mucky-yell'])
    ok(applied)
    expect(clone.read('params.yaml')).toBe(clone.git('show', `${one.commit}:params.yaml`))
    expect(JSON.parse(clone.read('metrics.json'))).toEqual(one.metrics)
    // the applied files are the only change in the clone (nothing of xp's own shows up)
    const changed = clone
      .git('status', '--porcelain')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3))
      .sort()
    expect(changed).toEqual(changedFiles(clone, one.commit))
    // and the run applied reads back as the same run: xp diff against the working tree's params
    expect(clone.json(['show', 'mucky-yell'])[0].params).toEqual({ lr: 0.2, epochs: 200 })
  }, 60_000)
})

describe('journey: a DVCLive experiment imported -> push -> clone -> apply', () => {
  it("the imported run's DVC-versioned data stays DVC's: push, pull and apply carry the run, not DVC's md5 objects", () => {
    const repo = new TestRepo({ init: false })
    const bundle = path.join(ROOT, 'fixtures', 'dvc', 'dvclive-exp.bundle')
    repo.git('clone', '-q', bundle, '.')
    repo.git('fetch', '-q', bundle, 'refs/exps/*:refs/exps/*')
    repo.git('checkout', '-q', '-b', 'main', 'dd2d43e746e228688856074b9e76c2324a923793') // the experiment's baseline
    const store = tmpDir('xp-journey-data-')
    const bare = makeBare(tmpDir('xp-journey-git-'))
    repo.git('remote', 'remove', 'origin')
    repo.git('remote', 'add', 'origin', bare)
    repo.git('push', '-q', 'origin', 'main')
    ok(repo.xp(['remote', 'add', 'storage', store, '--default']))
    expect(repo.json(['import', 'dvc', 'proud-jird']).imported.map((r: any) => r.name)).toEqual(['proud-jird'])
    const [rec] = repo.json(['show'])
    const pushed = repo.xp(['push', 'origin'])
    ok(pushed)
    expect(allFiles(store)).toEqual([]) // nothing of xp's to upload: model.pkl is DVC's (md5)

    const clone = cloneAndPull(bare)
    const [got] = clone.json(['show'])
    expect(got).toEqual({ ...rec, ref: got.ref })
    const applied = clone.xp(['apply', 'proud-jird'])
    ok(applied)
    expect(clone.read('dvclive/metrics.json')).toBe(clone.git('show', `${rec.commit}:dvclive/metrics.json`))
    expect(clone.read('model.pkl.dvc')).toBe(clone.git('show', `${rec.commit}:model.pkl.dvc`))
    const changed = clone
      .git('status', '--porcelain', '--untracked-files=all')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3))
      .sort()
    expect(changed).toEqual(changedFiles(clone, rec.commit))
  }, 60_000)
})

/** Paths where a run's tree differs from HEAD's (what applying it may change). */
function changedFiles(r: TestRepo, commit: string): string[] {
  return r
    .git('diff', '--name-only', 'HEAD', commit)
    .split('\n')
    .filter((f) => f && !f.startsWith('.xp-run/'))
    .sort()
}

// A training script run from the subfolder: reads its params, writes a model and metrics.
const TRAIN = `
const fs = require('fs')
const lr = Number(/lr: *([0-9.]+)/.exec(fs.readFileSync('params.yaml', 'utf8'))[1])
fs.mkdirSync('models', { recursive: true })
fs.writeFileSync('models/model.bin', 'model trained with lr=' + lr + '\\n' + 'w'.repeat(2000))
fs.writeFileSync('metrics.json', JSON.stringify({ acc: 1 - lr }))
`

describe('journey: subfolder project -> queued grid -> push -> clone -> apply', () => {
  it('queued runs of a subfolder project record outs as pointers; a clone applies one, fetching its data', () => {
    const repo = new TestRepo({
      files: {
        'README.md': '# monorepo\n',
        'svc/params.yaml': 'lr: 0.1 # learning rate\nepochs: 3\n',
        'svc/train.js': TRAIN,
        'other/notes.txt': 'not the project\n',
      },
    })
    const svc = repo.path('svc')
    ok(repo.xp(['init'], { cwd: svc }))
    repo.write('svc/xp.yaml', `${repo.read('svc/xp.yaml')}\ncommand: node train.js\nparams: [params.yaml]\nmetrics: [metrics.json]\nouts: [models/model.bin]\n`)
    const store = tmpDir('xp-journey-data-')
    const bare = makeBare(tmpDir('xp-journey-git-'))
    ok(repo.xp(['remote', 'add', 'storage', store, '--default'], { cwd: svc }))
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'svc project')
    repo.git('remote', 'add', 'origin', bare)
    repo.git('push', '-q', 'origin', 'main')

    const q = repo.xp(['run', '--queue', '-n', 'grid', '-S', 'lr=0.2,0.3,0.5'], { cwd: svc })
    ok(q)
    expect(q.stderr).toContain('queued 3 tasks')
    expect(repo.read('svc/params.yaml')).toBe('lr: 0.1 # learning rate\nepochs: 3\n') // queuing edits nothing here
    ok(repo.xp(['queue', 'start', '-j', '2'], { cwd: svc }))
    const runs = repo.json(['show'])
    expect(runs.map((r: any) => r.name).sort()).toEqual(['grid-1', 'grid-2', 'grid-3'])
    const g3 = runs.find((r: any) => r.name === 'grid-3')
    expect(g3).toMatchObject({ status: 'succeeded', params: { lr: 0.5, epochs: 3 }, metrics: { acc: 0.5 } })
    // outs are recorded by hash (paths as the project names them) and the run's tree holds a pointer, not the bytes
    const outKey = Object.keys(g3.outs)[0]
    expect(outKey).toMatch(/(^|\/)models\/model\.bin$/)
    const tree = repo.git('ls-tree', '-r', '--name-only', g3.commit).split('\n')
    expect(tree).toContain('svc/models/model.bin.xp')
    expect(tree).not.toContain('svc/models/model.bin')
    expect(repo.git('show', `${g3.commit}:svc/params.yaml`)).toBe('lr: 0.5 # learning rate\nepochs: 3\n')
    expect(repo.git('status', '--porcelain')).toBe('') // the queue ran in worktrees of its own

    ok(repo.xp(['push', 'origin'], { cwd: svc }))
    const model = Buffer.from(`model trained with lr=0.5\n${'w'.repeat(2000)}`)
    expect(allFiles(store).some((f) => fs.readFileSync(f).equals(model))).toBe(true)

    const clone = cloneAndPull(bare)
    expect(
      clone
        .json(['show'])
        .map((r: any) => r.name)
        .sort(),
    ).toEqual(['grid-1', 'grid-2', 'grid-3'])
    expect(clone.json(['diff', 'grid-1', 'grid-3']).params.lr).toMatchObject({ old: 0.2, new: 0.5 })
    const applied = clone.xp(['apply', 'grid-3'], { cwd: clone.path('svc') })
    ok(applied)
    expect(fs.readFileSync(clone.path('svc/models/model.bin')).equals(model)).toBe(true)
    expect(clone.read('svc/params.yaml')).toBe('lr: 0.5 # learning rate\nepochs: 3\n')
    // the only changes: the applied params (and pointer/metrics files the run has); the model is git-ignored
    const changed = clone
      .git('status', '--porcelain', '--untracked-files=all')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3))
      .sort()
    expect(changed).toEqual(changedFiles(clone, g3.commit))
    expect(changed).toContain('svc/params.yaml')
    expect(changed).not.toContain('svc/models/model.bin')
  }, 60_000)
})

describe('journey: a subfolder project registers a model; a clone serves it', () => {
  it('artifacts declared in the subfolder xp.yaml register as DIR:NAME, travel with push and pull, and model get fetches them in a clone', () => {
    const repo = new TestRepo({ files: { 'README.md': '# monorepo\n', 'svc/params.yaml': 'lr: 0.1\n', 'svc/train.js': TRAIN } })
    const svc = repo.path('svc')
    ok(repo.xp(['init'], { cwd: svc }))
    repo.write(
      'svc/xp.yaml',
      `${repo.read('svc/xp.yaml')}\ncommand: node train.js\nparams: [params.yaml]\nmetrics: [metrics.json]\nouts: [models/model.bin]\nartifacts:\n  svc-model: {path: models/model.bin, type: model}\n`,
    )
    const store = tmpDir('xp-journey-data-')
    const bare = makeBare(tmpDir('xp-journey-git-'))
    ok(repo.xp(['remote', 'add', 'storage', store, '--default'], { cwd: svc }))
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'svc project')
    repo.git('remote', 'add', 'origin', bare)
    repo.git('push', '-q', 'origin', 'main')
    ok(repo.xp(['run', '-n', 'svc-run', '-S', 'lr=0.5'], { cwd: svc }))
    // by its plain name the registry looks in the root's xp.yaml; the error says to use GTO's DIR:NAME
    const plain = repo.xp(['model', 'assign', 'svc-model', 'svc-run', '--stage', 'prod'], { cwd: svc })
    expect(plain.code).toBe(1)
    expect(plain.stderr).toContain('svc:svc-model')
    ok(repo.xp(['model', 'assign', 'svc:svc-model', 'svc-run', '--stage', 'prod'], { cwd: svc }))
    expect(repo.git('tag', '-l')).toContain('svc=svc-model@v0.0.1')
    expect(repo.json(['model', 'ls'])['svc:svc-model'].stage.prod).toBe('v0.0.1') // from the root too
    ok(repo.xp(['push', 'origin'], { cwd: svc }))

    const clone = cloneAndPull(bare)
    const which = clone.json(['model', 'which', 'svc:svc-model@prod'])
    expect(which).toMatchObject({ version: 'v0.0.1', path: 'svc/models/model.bin' })
    // the data remote is the subfolder project's: model get from there fetches the bytes
    const out = clone.path('svc', 'served.bin')
    ok(clone.xp(['model', 'get', 'svc:svc-model@prod', '-o', out], { cwd: clone.path('svc') }))
    expect(fs.readFileSync(out, 'utf8')).toBe(`model trained with lr=0.5\n${'w'.repeat(2000)}`)
  }, 60_000)
})

describe('journey: byte-exact -S edits through the queue and a clone', () => {
  it('a CRLF params file with comments and a JSON config keep every other byte after queue, push, pull and apply', () => {
    const params = '# training\r\nlr: 0.1   # learning rate\r\nlayers: [64, 32]\r\nname: "base"\r\n'
    const conf = '{\n    "batch": 32,\n    "opt": {"beta": 0.9}\n}\n'
    const repo = new TestRepo({
      files: { 'params.yaml': params, 'conf.json': conf, 'xp.yaml': 'params: [params.yaml, conf.json]\n', '.gitattributes': '* -text\n' },
    })
    const bare = makeBare(tmpDir('xp-journey-git-'))
    ok(repo.xp(['remote', 'add', 'storage', tmpDir('xp-journey-data-'), '--default']))
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'project')
    repo.git('remote', 'add', 'origin', bare)
    repo.git('push', '-q', 'origin', 'main')
    ok(repo.xp(['run', '--queue', '-n', 'b', '-S', 'lr=0.02,0.5', '-S', 'conf.json:opt.beta=0.99', '--', 'true']))
    expect(repo.read('params.yaml')).toBe(params)
    ok(repo.xp(['queue', 'start']))
    ok(repo.xp(['push', 'origin']))
    const clone = cloneAndPull(bare)
    ok(clone.xp(['apply', 'b-2']))
    expect(clone.read('params.yaml')).toBe('# training\r\nlr: 0.5   # learning rate\r\nlayers: [64, 32]\r\nname: "base"\r\n')
    expect(clone.read('conf.json')).toBe('{\n    "batch": 32,\n    "opt": {"beta": 0.99}\n}\n')
    expect(clone.json(['show', 'b-2'])[0].params).toEqual({ lr: 0.5, 'layers.0': 64, 'layers.1': 32, name: 'base', batch: 32, 'opt.beta': 0.99 })
  }, 60_000)
})
