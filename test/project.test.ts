// A real project, end to end (issue 12): the journeys a new user takes, from `xp init` to a
// colleague's clone reproducing a run, with real git, a bare git remote by path and folder
// data remotes.
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TestRepo, tmpDir, cleanupTmp, errorCode } from './helpers.js'
import { ok, runJson, cloneOf } from './remotes-helpers.js'

afterAll(() => cleanupTmp())

const PARAMS = 'train:\n  max_depth: 3   # tree depth\n  n_estimators: 10\nfeatures: [a, b]\n'
const TRAIN = ['sh', '-c', 'mkdir -p models && head -c 3000 /dev/urandom > models/model.pkl && echo \'{"acc": 0.9}\' > metrics.json']
const XP_YAML = 'params: [params.yaml]\nmetrics: [metrics.json]\nouts: [models/model.pkl]\n'

/** A project as the user had it: params.yaml, xp.yaml with outs, committed, with an origin. */
function project(files: Record<string, string> = {}): { a: TestRepo; bare: string; store: string } {
  const root = tmpDir('xp-project-')
  const bare = path.join(root, 'origin.git')
  spawnSync('git', ['init', '-q', '--bare', '-b', 'main', bare])
  const store = path.join(root, 'store')
  fs.mkdirSync(store)
  const a = new TestRepo({ files: { 'params.yaml': PARAMS, 'xp.yaml': XP_YAML, ...files } })
  a.git('remote', 'add', 'origin', bare)
  ok(a.xp(['remote', 'add', 'storage', store, '--default']))
  a.git('add', '-A')
  a.git('commit', '-qm', 'remote')
  a.git('push', '-q', 'origin', 'main')
  return { a, bare, store }
}

const status = (r: TestRepo) => r.git('status', '--porcelain', '--untracked-files=all')

describe('point 2: .xp/ is created whole by every command', () => {
  it('a clone that only ran `xp pull` has a clean git status', () => {
    const { a, bare } = project()
    runJson(a, ['-n', 'one', '--', ...TRAIN])
    ok(a.xp(['push']))
    const b = cloneOf(bare)
    ok(b.xp(['pull', '--all-data']))
    expect(b.exists('.xp/cache')).toBe(true)
    expect(status(b)).toBe('')
  })

  it('a listing in a repository xp never saw leaves git status clean too', () => {
    const r = new TestRepo({ files: { 'a.txt': 'x\n' } })
    ok(r.xp(['show']))
    ok(r.xp(['status']))
    expect(status(r)).toBe('')
  })
})

describe('point 6: a project per folder', () => {
  it('`xp init` in a subfolder makes a project there; runs from it read its params and metrics', () => {
    const r = new TestRepo({ files: { 'README.md': 'monorepo\n', 'svc/params.yaml': 'lr: 0.1\n' } })
    const res = r.xp(['init', '--json'], { cwd: r.path('svc') })
    expect(res.code).toBe(0)
    expect(r.exists('svc/xp.yaml')).toBe(true)
    expect(r.exists('xp.yaml')).toBe(false)
    const run = r.xp(['run', '--json', '-S', 'lr=0.2', '--', 'sh', '-c', 'echo \'{"acc": 1}\' > metrics.json'], { cwd: r.path('svc') })
    expect(run.code).toBe(0)
    const rec = JSON.parse(run.stdout)
    expect(rec.params).toEqual({ lr: 0.2 })
    expect(rec.metrics).toEqual({ acc: 1 })
    expect(r.read('svc/params.yaml')).toBe('lr: 0.2\n')
    // queued runs of the subfolder project run and record the same way
    r.git('add', '-A')
    r.git('commit', '-qm', 'svc project')
    ok(r.xp(['run', '--queue', '-n', 'q', '-S', 'lr=0.3', '--', 'sh', '-c', 'echo \'{"acc": 2}\' > metrics.json'], { cwd: r.path('svc') }))
    ok(r.xp(['queue', 'start'], { cwd: r.path('svc') }))
    // both runs are the svc project's: listed there, not at the root
    const q = r.json(['show'], { cwd: r.path('svc') }).find((x: any) => x.name === 'q')
    expect(q).toMatchObject({ params: { lr: 0.3 }, metrics: { acc: 2 }, project: 'svc' })
    expect(r.json(['show'])).toEqual([])
    expect(r.xp(['show']).stderr).toContain('no runs in this project yet (other projects have some: `xp show --all-projects`)')
  })

  it('a run from a subfolder that is not a project warns that it records nothing', () => {
    const r = new TestRepo({ files: { 'README.md': 'x\n', 'svc/params.yaml': 'lr: 0.1\n' } })
    const run = r.xp(['run', '--', 'true'], { cwd: r.path('svc') })
    expect(run.code).toBe(0)
    expect(run.stderr).toMatch(/warning: the run recorded no params and no metrics.*run `xp init` in svc\//)
  })

  it('a params file named in xp.yaml that is missing is warned about', () => {
    const r = new TestRepo({ files: { 'xp.yaml': 'params: [conf/params.yaml]\n' } })
    const run = r.xp(['run', '--', 'true'])
    expect(run.stderr).toMatch(/warning: params file conf\/params.yaml does not exist/)
  })
})

describe('point 7: push -r to a new data remote', () => {
  it('uploads the data of runs the git remote has already; a teammate restores them from it', () => {
    const { a, bare } = project()
    const run = runJson(a, ['-n', 'shared', '--', ...TRAIN])
    ok(a.xp(['push']))
    const second = path.join(tmpDir('xp-store2-'), 'store2')
    fs.mkdirSync(second)
    ok(a.xp(['remote', 'add', 'backup', second]))
    a.git('commit', '-qam', 'a second data remote')
    a.git('push', '-q', 'origin', 'main')
    const pushed = a.json(['push', 'origin', '-r', 'backup'])
    expect(pushed.runs.pushed).toBe(0)
    expect(pushed.data.transferred).toBeGreaterThan(0)
    const oid = run.outs['models/model.pkl'].oid as string
    expect(fs.existsSync(path.join(second, oid.slice(0, 2), oid.slice(2)))).toBe(true)
    // a teammate with only the second remote reproduces the run's output
    const b = cloneOf(bare)
    ok(b.xp(['pull', '-r', 'backup', '--all-data']))
    ok(b.xp(['apply', 'shared']))
    expect(fs.readFileSync(b.path('models/model.pkl'))).toEqual(fs.readFileSync(a.path('models/model.pkl')))
  })
})

describe('point 10 and issue 10: -S is strict and byte-exact, all or nothing', () => {
  it('refuses a misspelled key with the closest ones, adds it with +key', () => {
    const r = new TestRepo({ files: { 'params.yaml': PARAMS } })
    const bad = r.xp(['run', '-S', 'train.maxdepth=3', '--', 'true'])
    expect(bad.code).toBe(2)
    expect(errorCode(bad)).toBe('XP_PARAM_UNKNOWN')
    expect(bad.stderr).toMatch(/did you mean train\.max_depth/)
    expect(r.read('params.yaml')).toBe(PARAMS)
    expect(r.json(['show'])).toHaveLength(0)
    const add = r.xp(['run', '--json', '-S', '+train.seed=7', '-S', 'train.max_depth=5', '--', 'true'])
    expect(add.code).toBe(0)
    expect(JSON.parse(add.stdout).params['train.seed']).toBe(7)
    expect(r.read('params.yaml')).toBe('train:\n  max_depth: 5   # tree depth\n  n_estimators: 10\n  seed: 7\nfeatures: [a, b]\n')
    expect(errorCode(r.xp(['run', '-S', '+train.seed=8', '--', 'true']))).toBe('XP_PARAM_EXISTS')
  })

  it('keeps CRLF, a BOM and JSON indentation; refuses a path through a value and an empty grid value', () => {
    const yamlText = '\uFEFFlr: 0.1\r\nmodel:\r\n  depth: 3 # d\r\nlayers: [64, 32]\r\n'
    const jsonText = '{\n    "lr": 0.1,\n    "opt": {"name": "adam"}\n}\n'
    const r = new TestRepo({ files: { 'params.yaml': yamlText, 'conf.json': jsonText } })
    ok(r.xp(['run', '-S', 'lr=1e-3', '-S', 'conf.json:opt.name=sgd', '--', 'true']))
    expect(r.read('params.yaml')).toBe(yamlText.replace('lr: 0.1', 'lr: 1e-3'))
    expect(r.read('conf.json')).toBe(jsonText.replace('"adam"', '"sgd"'))
    const scalar = r.xp(['run', '-S', 'model.depth.x=1', '--', 'true'])
    expect(errorCode(scalar)).toBe('XP_PARAM_NOT_A_MAP')
    const grid = r.xp(['run', '--queue', '-S', 'lr=1,,2', '--', 'true'])
    expect(errorCode(grid)).toBe('XP_BAD_SET')
  })

  it('a value too large leaves every params file unchanged', () => {
    const r = new TestRepo({ files: { 'params.yaml': PARAMS, 'b.yaml': 'x: 1\n' } })
    const big = 'a'.repeat(70 * 1024)
    const res = r.xp(['run', '-S', 'b.yaml:x=2', '-S', `train.max_depth=${big}`, '--', 'true'])
    expect(errorCode(res)).toBe('XP_VALUE_TOO_LARGE')
    expect(r.read('params.yaml')).toBe(PARAMS)
    expect(r.read('b.yaml')).toBe('x: 1\n')
  })
})

describe('point 11: xp.yaml edits keep every untouched byte', () => {
  it('remote add and remove leave flow lists, comments and CRLF as they were', () => {
    const text = '# settings\r\nparams: [params.yaml]   # the params\r\nouts: [models/model.pkl]\r\n'
    const r = new TestRepo({ files: { 'xp.yaml': text } })
    ok(r.xp(['remote', 'add', 'storage', '/tmp/xp-nowhere-store', '--default']))
    const after = r.read('xp.yaml')
    expect(after.startsWith(text)).toBe(true)
    expect(r.json(['remote', 'list'])).toEqual([expect.objectContaining({ name: 'storage', default: true })])
    ok(r.xp(['remote', 'remove', 'storage']))
    expect(r.read('xp.yaml')).toBe(text)
  })
})

describe('point 13: no MaxListenersExceededWarning', () => {
  it('push and pull of 30 objects print no warning', () => {
    const { a, bare } = project()
    for (let i = 0; i < 30; i++) a.write(`data/f${i}.txt`, `file ${i}\n`)
    ok(a.xp(['add', 'data']))
    a.git('add', '-A')
    a.git('commit', '-qm', 'data')
    a.git('push', '-q', 'origin', 'main')
    // a real process (input given): Node prints the warning on its own stderr
    const push = ok(a.xp(['push'], { input: '' }))
    expect(push.stderr).not.toMatch(/MaxListeners/)
    const b = cloneOf(bare)
    const pull = ok(b.xp(['pull'], { input: '' }))
    expect(pull.stderr).not.toMatch(/MaxListeners/)
    expect(b.read('data/f29.txt')).toBe('file 29\n')
  })
})

describe('point 8: apply and checkout fetch what they need', () => {
  it("`xp apply RUN` in a fresh clone fetches the run's data from the default data remote", () => {
    const { a, bare } = project()
    runJson(a, ['-n', 'trained', '--', ...TRAIN])
    ok(a.xp(['push']))
    const b = cloneOf(bare)
    ok(b.xp(['pull']))
    expect(b.exists('models/model.pkl')).toBe(false)
    const res = b.xp(['apply', 'trained'])
    expect(res.code).toBe(0)
    expect(fs.readFileSync(b.path('models/model.pkl'))).toEqual(fs.readFileSync(a.path('models/model.pkl')))
  })

  it('without a data remote, the hint names a command that works', () => {
    const { a, bare } = project()
    runJson(a, ['-n', 'trained', '--', ...TRAIN])
    ok(a.xp(['push']))
    const b = cloneOf(bare)
    ok(b.xp(['pull', '--no-data']))
    ok(b.xp(['remote', 'remove', 'storage']))
    const res = b.xp(['apply', 'trained'])
    expect(errorCode(res)).toBe('XP_CACHE_MISSING')
    expect(res.stderr).toMatch(/xp remote add NAME URL --default/)
    expect(res.stderr).not.toMatch(/`xp pull`/)
  })
})

describe("point 9: apply of an older run keeps the repository's settings", () => {
  it("remotes and artifacts added since stay in xp.yaml; the run's outs come back", () => {
    const { a } = project()
    runJson(a, ['-n', 'old', '--', ...TRAIN])
    a.git('checkout', '-q', '--', '.')
    const second = tmpDir('xp-store3-')
    ok(a.xp(['remote', 'add', 'backup', second]))
    fs.appendFileSync(a.path('xp.yaml'), 'artifacts:\n  churn: {path: models/model.pkl, type: model}\n')
    a.write('xp.yaml', a.read('xp.yaml').replace('outs: [models/model.pkl]', 'outs: [models/model.pkl, models/extra.bin]'))
    a.git('add', 'xp.yaml')
    a.git('commit', '-qm', 'settings')
    const before = a.read('xp.yaml')
    ok(a.xp(['apply', 'old', '--force'])) // --force: this test is about xp.yaml alone
    const after = a.read('xp.yaml')
    expect(after).toMatch(/backup/)
    expect(after).toContain('artifacts:\n  churn: {path: models/model.pkl, type: model}')
    expect(after).toMatch(/outs: \[models\/model.pkl\]\n/)
    expect(after).not.toBe(before)
  })

  it('a run that differs only in repository keys leaves xp.yaml byte for byte', () => {
    const { a } = project()
    runJson(a, ['-n', 'old', '--', ...TRAIN])
    a.git('checkout', '-q', '--', '.')
    ok(a.xp(['remote', 'add', 'backup', tmpDir('xp-store4-')]))
    a.git('commit', '-qam', 'another remote')
    ok(a.xp(['apply', 'old', '--force']))
    expect(a.git('diff', '--stat', '--', 'xp.yaml')).toBe('')
  })
})

describe('point 12: outs are git-ignored; apply does not refuse over identical files', () => {
  it('after a run, git status shows no model; apply of that run needs no --force', () => {
    const { a } = project()
    runJson(a, ['-n', 'r1', '--', 'sh', '-c', `${TRAIN[2]} && printf 'step\\tacc\\n1\\t0.5\\n' > train.tsv`])
    expect(a.git('check-ignore', 'models/model.pkl').trim()).toBe('models/model.pkl')
    expect(status(a)).not.toMatch(/model\.pkl$/m)
    const res = a.xp(['apply', 'r1'])
    expect(res.code).toBe(0)
    // a file that differs from the run's is still protected
    a.write('train.tsv', 'edited\n')
    expect(errorCode(a.xp(['apply', 'r1']))).toBe('XP_UNCOMMITTED_CHANGES')
  })
})

describe('point 18: xp rm says when a remote still holds the run', () => {
  it('warns with the command that deletes it there; after that, pull does not bring it back', () => {
    const { a } = project()
    runJson(a, ['-n', 'gone', '--', ...TRAIN])
    ok(a.xp(['push']))
    const rm = ok(a.xp(['rm', 'gone']))
    expect(rm.stderr).toMatch(/git remote "origin" still holds gone: the next `xp pull` brings it back; .*xp rm --remote origin/)
    ok(a.xp(['pull']))
    expect(a.json(['show']).map((r: any) => r.name)).toEqual(['gone'])
    ok(a.xp(['rm', '--remote', 'origin', 'gone']))
    const again = ok(a.xp(['rm', 'gone']))
    expect(again.stderr).not.toMatch(/still holds/)
    ok(a.xp(['pull']))
    expect(a.json(['show'])).toEqual([])
  })
})
