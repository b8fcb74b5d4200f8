// Journeys across clones for runs that were not made by a foreground `xp run`:
// DVC experiments brought in by `xp import dvc`, and queued runs of a subfolder project;
// and a repository of several projects, each listing its own runs.
// Each: make runs -> push to a bare git remote and a folder data remote -> fresh clone ->
// pull -> show/diff -> apply, as a teammate would.
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TestRepo, cleanupTmp, tmpDir, ROOT } from './helpers.js'
import { makeBare } from './servers/git.js'
import { allFiles } from './journeys-helpers.js'
import { startUi, api, call, waitRecorded } from './mlflow-helpers.js'
import { launchChromium } from './servers/chromium.js'

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
    // the runs are the svc project's: listed in its folder, not at the root
    expect(repo.json(['show'])).toEqual([])
    const runs = repo.json(['show'], { cwd: svc })
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
        .json(['show'], { cwd: clone.path('svc') })
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

describe('journey: runs belong to the project they were made in', () => {
  const names = (rs: any[]) => rs.map((r: any) => r.name)
  const A_METRICS = `sh -c 'echo "{\\"acc\\": $ACC}" > metrics.json'`

  /**
   * A repository with projects a/ and b/ (b/ caches an out) and the root project, runs in
   * each, oldest first: a run recorded before runs had a project (its record without the
   * field, as an older xp wrote it), root-run, a-1, a-2, then b-run, the latest of all.
   */
  function monorepo() {
    const repo = new TestRepo({
      files: {
        'README.md': '# monorepo\n',
        'xp.yaml': 'metrics: [metrics.json]\n',
        'a/xp.yaml': 'metrics: [metrics.json]\n',
        'b/xp.yaml': 'metrics: [metrics.json]\nouts: [model.bin]\n',
        '.gitignore': 'metrics.json\n',
      },
    })
    const a = repo.path('a')
    const b = repo.path('b')
    // the legacy run: recorded at the root, then its record rewritten without `project`, as before runs had one
    ok(repo.xp(['run', '-n', 'legacy', '--', 'sh', '-c', 'echo \'{"acc": 0.1}\' > metrics.json']))
    const [ref, commit] = repo.git('for-each-ref', '--format=%(refname) %(objectname)', 'refs/xp/runs/').trim().split(' ')
    const message = repo.git('log', '-1', '--format=%B', commit)
    const old = message.replace(/\nproject: [^\n]*\n/, '\n')
    expect(old).not.toMatch(/\nproject: /)
    const tree = repo.git('rev-parse', `${commit}^{tree}`).trim()
    const parent = repo.git('rev-parse', `${commit}^`).trim()
    const rewritten = spawnSync('git', ['commit-tree', tree, '-p', parent, '-F', '-'], {
      cwd: repo.dir,
      env: repo.env,
      input: old,
      encoding: 'utf8',
    }).stdout.trim()
    repo.git('update-ref', ref, rewritten)
    ok(repo.xp(['run', '-n', 'root-run', '--', 'sh', '-c', 'echo \'{"acc": 0.2}\' > metrics.json']))
    ok(repo.xp(['run', '-n', 'a-1', '--', 'sh', '-c', A_METRICS], { cwd: a, env: { ACC: '0.3' } }))
    ok(repo.xp(['run', '-n', 'a-2', '--', 'sh', '-c', A_METRICS], { cwd: a, env: { ACC: '0.4' } }))
    ok(repo.xp(['run', '-n', 'b-run', '--', 'sh', '-c', 'echo \'{"acc": 0.9}\' > metrics.json && echo b-model > model.bin'], { cwd: b }))
    return { repo, a, b }
  }

  it("xp show, xp diff and xp plots list the current project's runs (and the legacy one); --all-projects lists all, with their project; a name resolves from any project", () => {
    const { repo, a, b } = monorepo()
    const show = (cwd: string, ...args: string[]) => repo.json(['show', ...args], { cwd })

    expect(names(show(a))).toEqual(['a-2', 'a-1', 'legacy'])
    expect(names(show(b))).toEqual(['b-run', 'legacy'])
    expect(names(show(repo.dir))).toEqual(['root-run', 'legacy'])
    // below a project's folder is still that project
    fs.mkdirSync(path.join(a, 'src'))
    expect(names(show(path.join(a, 'src')))).toEqual(['a-2', 'a-1', 'legacy'])
    // the slow path (sorting, filtering) keeps to the project too
    expect(names(show(a, '--sort-by', 'acc'))).toEqual(['a-2', 'a-1', 'legacy'])
    expect(names(show(a, '--filter', 'metrics.acc >= 0.3'))).toEqual(['a-2', 'a-1'])

    const all = show(a, '--all-projects')
    expect(names(all)).toEqual(['b-run', 'a-2', 'a-1', 'root-run', 'legacy'])
    expect(all.map((r: any) => r.project)).toEqual(['b', 'a', 'a', '', undefined])
    expect(all.find((r: any) => r.name === 'legacy')).not.toHaveProperty('project')
    // the table says which project each run is in when it lists them all: `.` the root, `-` unknown
    const table = repo.xp(['show', '--all-projects'], { cwd: a }).stdout.split('\n')
    expect(table[0]).toMatch(/^name\s+project\s+created/)
    expect(table.find((l) => l.startsWith('b-run'))).toMatch(/^b-run\s+b\s/)
    expect(table.find((l) => l.startsWith('root-run'))).toMatch(/^root-run\s+\.\s/)
    expect(table.find((l) => l.startsWith('legacy'))).toMatch(/^legacy\s+-\s/)
    expect(repo.xp(['show'], { cwd: a }).stdout.split('\n')[0]).not.toMatch(/project/)

    // a run named explicitly is found whatever project made it (names are the repository's)
    expect(show(a, 'b-run')).toMatchObject([{ name: 'b-run', project: 'b' }])
    expect(show(a, 'b-run', 'a-1').map((r: any) => r.project)).toEqual(['b', 'a'])

    // xp diff: the default pick is the project's two latest runs, never b's newer run
    expect(repo.json(['diff'], { cwd: a })).toMatchObject({ a: { name: 'a-1' }, b: { name: 'a-2' } })
    expect(repo.json(['diff'], { cwd: b })).toMatchObject({ a: { name: 'legacy' }, b: { name: 'b-run' } })
    expect(repo.json(['diff', '--all-projects'], { cwd: a })).toMatchObject({ a: { name: 'a-2' }, b: { name: 'b-run' } })
    // one name: against the run before it in its own project; two: any two runs
    expect(repo.json(['diff', 'b-run'], { cwd: a }).a.name).toBe('legacy')
    expect(repo.json(['diff', 'a-2', 'b-run'], { cwd: a }).metrics.acc).toMatchObject({ old: 0.4, new: 0.9 })

    // xp plots: the latest runs of the project
    const plots = JSON.parse(repo.xp(['plots', '--json', '-o', path.join(tmpDir(), 'r.html')], { cwd: a }).stdout)
    expect(plots).toMatchObject({ total: 3 })
    expect(plots.runs).toHaveLength(3)
    expect(JSON.parse(repo.xp(['plots', '--json', '--all-projects', '-o', path.join(tmpDir(), 'r.html')], { cwd: a }).stdout).total).toBe(5)
  }, 60_000)

  it('a queued run records the project it was queued in, and is listed there only', () => {
    const { repo, a, b } = monorepo()
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'projects')
    ok(repo.xp(['run', '--queue', '-n', 'queued-b', '--', 'sh', '-c', 'echo \'{"acc": 0.7}\' > metrics.json && echo q > model.bin'], { cwd: b }))
    // started from elsewhere: the task's project is where it was queued, not where the worker runs
    ok(repo.xp(['queue', 'start'], { cwd: a }))
    expect(repo.json(['show', 'queued-b'], { cwd: a })).toMatchObject([{ name: 'queued-b', project: 'b', status: 'succeeded', metrics: { acc: 0.7 } }])
    expect(names(repo.json(['show'], { cwd: b }))).toEqual(['queued-b', 'b-run', 'legacy'])
    expect(names(repo.json(['show'], { cwd: a }))).not.toContain('queued-b')
  }, 60_000)

  it("xp gc in project a keeps project b's outs (every project's runs keep their data), and push, pull and fsck see every run", () => {
    const { repo, a, b } = monorepo()
    const [bRun] = repo.json(['show', 'b-run'], { cwd: b })
    const oid: string = bRun.outs['b/model.bin'].oid
    const object = repo.path('.xp', 'cache', oid.slice(0, 2), oid.slice(2))
    expect(fs.existsSync(object)).toBe(true)
    fs.rmSync(repo.path('b', 'model.bin')) // no workspace file keeps it: only the run does
    ok(repo.xp(['gc'], { cwd: a }))
    expect(fs.existsSync(object)).toBe(true)
    ok(repo.xp(['fsck'], { cwd: a }))
    const bare = makeBare(tmpDir('xp-journey-git-'))
    repo.git('remote', 'add', 'origin', bare)
    repo.git('push', '-q', 'origin', 'main')
    ok(repo.xp(['push', 'origin', '--no-data'], { cwd: a }))
    expect(repo.git('ls-remote', bare, 'refs/xp/runs/*').trim().split('\n')).toHaveLength(5)
    const clone = cloneAndPull(bare)
    expect(names(clone.json(['show', '--all-projects']))).toEqual(['b-run', 'a-2', 'a-1', 'root-run', 'legacy'])
    // a clone lists each project's runs in its folder, as the repository it came from
    expect(names(clone.json(['show'], { cwd: clone.path('a') }))).toEqual(['a-2', 'a-1', 'legacy'])
  }, 60_000)

  it('xp ui and its MLflow API started in project a list and search only its runs; a run logged through it is recorded in project a', async () => {
    const { repo, a } = monorepo()
    const u = await startUi(repo, [], {}, a)
    try {
      const listed = (await call(u.url, 'GET', '/api/runs')).json
      expect(names(listed.runs)).toEqual(['a-2', 'a-1', 'legacy'])
      expect(listed.runs[0].project).toBe('a')
      // a run of another project is still shown by its name
      expect((await call(u.url, 'GET', '/api/runs/b-run')).json).toMatchObject({ name: 'b-run', project: 'b' })
      const search = async () => ((await api(u.url, 'POST', 'runs/search', { experiment_ids: ['0'] })).json.runs ?? []).map((r: any) => r.info.run_name)
      expect(await search()).toEqual(['a-2', 'a-1', 'legacy'])
      const created = await api(u.url, 'POST', 'runs/create', { experiment_id: '0', run_name: 'via-mlflow', start_time: Date.now() })
      const id = created.json.run.info.run_id
      expect(await search()).toEqual(['via-mlflow', 'a-2', 'a-1', 'legacy'])
      // a run of b is got by its id
      const bId = repo.json(['show', 'b-run'])[0].id
      expect((await api(u.url, 'GET', `runs/get?run_id=${bId}`)).json.run.info.run_name).toBe('b-run')
      await api(u.url, 'POST', 'runs/update', { run_id: id, status: 'FINISHED', end_time: Date.now() })
      await waitRecorded(repo)
      expect(repo.json(['show', 'via-mlflow'])).toMatchObject([{ name: 'via-mlflow', project: 'a' }])
      expect(names(repo.json(['show'], { cwd: a }))).toEqual(['via-mlflow', 'a-2', 'a-1', 'legacy'])
      expect(names(repo.json(['show']))).toEqual(['root-run', 'legacy'])
    } finally {
      await u.stop()
    }
    const all = await startUi(repo, ['--all-projects'], {}, a)
    try {
      expect(names((await call(all.url, 'GET', '/api/runs')).json.runs)).toEqual(['via-mlflow', 'b-run', 'a-2', 'a-1', 'root-run', 'legacy'])
      expect(((await api(all.url, 'POST', 'runs/search', { experiment_ids: ['0'] })).json.runs ?? []).length).toBe(6)
      // the page says which project each run is from, after its name, as `xp show --all-projects`
      const browser = await launchChromium()
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
        await page.goto(all.url)
        await page.waitForSelector('.tbody .tr')
        const headers = await page.$$eval('.thead .th[data-col]', (ths) => ths.map((t) => t.getAttribute('data-col')))
        expect(headers.slice(0, 3)).toEqual(['name', 'project', 'status'])
        const cells = async () =>
          page.$$eval('.tbody .tr', (trs) =>
            trs.map((tr) => [tr.querySelector('[data-col="name"]')?.textContent, tr.querySelector('[data-col="project"]')?.textContent].join(' ')),
          )
        expect((await cells()).sort()).toEqual(['a-1 a', 'a-2 a', 'b-run b', 'legacy -', 'root-run .', 'via-mlflow a'])
        await page.click('.th[data-col="project"]')
        expect((await cells()).map((c) => c.split(' ')[1])).toEqual(['-', '.', 'a', 'a', 'a', 'b'])
      } finally {
        await browser.close()
      }
    } finally {
      await all.stop()
    }
    // one project's page has no such column (its runs and the legacy one are all its own)
    const one = await startUi(repo, [], {}, a)
    const browser = await launchChromium()
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
      await page.goto(one.url)
      await page.waitForSelector('.tbody .tr')
      expect(await page.$$eval('.thead .th[data-col]', (ths) => ths.map((t) => t.getAttribute('data-col')))).not.toContain('project')
    } finally {
      await browser.close()
      await one.stop()
    }
  }, 60_000)

  it('xp import mlflow records the imported runs in the project it runs in', () => {
    const { repo, a } = monorepo()
    const res = repo.json(['import', 'mlflow', path.join(ROOT, 'fixtures', 'mlflow', 'mlruns')], { cwd: a })
    expect(res.imported.length).toBeGreaterThan(0)
    const shown = repo.json(['show'], { cwd: a })
    for (const r of res.imported) expect(shown.find((x: any) => x.id === r.id)).toMatchObject({ project: 'a' })
    expect(names(repo.json(['show']))).toEqual(['root-run', 'legacy'])
  }, 60_000)
})
