import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fs from 'node:fs'
import { TestRepo, errorCode, cleanupTmp } from './helpers.js'

afterAll(cleanupTmp)

const TRAIN = `
const fs = require('fs')
const p = fs.readFileSync('params.yaml', 'utf8')
const lr = Number(/lr: *([^\\s#]+)/.exec(p)[1])
fs.writeFileSync('metrics.json', JSON.stringify({ acc: Number((0.9 - lr).toFixed(6)), loss: lr * 2.123456789, epochs: 3 }))
`

let repo: TestRepo
const ids: Record<string, string> = {}

function runXp(...args: string[]) {
  const r = repo.xp(args)
  if (r.code !== 0) throw new Error(`xp ${args.join(' ')}: ${r.stderr}`)
  return r
}

beforeAll(() => {
  repo = new TestRepo({
    files: {
      'train.cjs': TRAIN,
      'params.yaml': 'lr: 0.1\nmodel: rf\n',
      'xp.yaml': 'metrics: [metrics.json]\n',
      '.gitignore': 'metrics.json\n',
    },
  })
  runXp('run', '-n', 'first', '--', 'node', 'train.cjs')
  runXp('run', '-n', 'second', '-S', 'lr=0.01', '--', 'node', 'train.cjs')
  runXp('run', '-n', 'third', '-S', 'lr=0.05', '-S', 'model=svm', '--', 'node', 'train.cjs')
  for (const r of repo.json(['show'])) ids[r.name] = r.id
})

const lines = (s: string) => s.trimEnd().split(/\r?\n/)

describe('xp show', () => {
  it('lists every run newest first as JSON records with commit, ref and sorted keys', () => {
    const runs = repo.json(['show'])
    expect(runs.map((r: any) => r.name)).toEqual(['third', 'second', 'first'])
    expect(runs[0]).toMatchObject({
      xp: 1,
      status: 'succeeded',
      params: { lr: 0.05, model: 'svm' },
      metrics: { acc: 0.85, epochs: 3 },
      ref: `refs/xp/runs/${ids.third}`,
    })
    expect(runs[0].commit).toMatch(/^[0-9a-f]{40}$/)
    expect(repo.git('rev-parse', runs[0].ref).trim()).toBe(runs[0].commit)
    expect(Object.keys(runs[0])).toEqual([...Object.keys(runs[0])].sort())
  })

  it('prints a table: name, created, status, duration, metrics, params, numbers to 5 digits', () => {
    const out = lines(runXp('show').stdout)
    expect(out[0].split(/\s+/)).toEqual(['name', 'created', 'status', 'duration', 'acc', 'epochs', 'loss', 'lr', 'model'])
    expect(out[1]).toMatch(/^third\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+succeeded\s+[\d.]+s\s+0\.85\s+3\s+0\.10617\s+0\.05\s+svm$/)
    expect(out).toHaveLength(4)
    expect(runXp('ls').stdout).toBe(runXp('show').stdout)
  })

  it('sorts by a metric (best first), ascending on request, and limits with -n', () => {
    const names = (...args: string[]) => repo.json(['show', ...args]).map((r: any) => r.name)
    expect(names('--sort-by', 'acc')).toEqual(['second', 'third', 'first'])
    expect(names('--sort-by', 'metrics.acc', '--asc')).toEqual(['first', 'third', 'second'])
    expect(names('--sort-by', 'params.lr')).toEqual(['second', 'third', 'first'])
    expect(names('--sort-by', 'name', '--desc')).toEqual(['third', 'second', 'first'])
    expect(names('--asc')).toEqual(['first', 'second', 'third'])
    expect(names('-n', '1')).toEqual(['third'])
    expect(names('--sort-by', 'acc', '-n', '2')).toEqual(['second', 'third'])
    const bad = repo.xp(['show', '-n', 'many'])
    expect(bad.code).toBe(2)
    expect(errorCode(bad)).toBe('XP_USAGE')
  })

  it('refuses an unknown sort key with exit 2, naming close keys', () => {
    const r = repo.xp(['show', '--sort-by', 'acuracy'])
    expect(r.code).toBe(2)
    expect(errorCode(r)).toBe('XP_BAD_SORT_KEY')
    expect(r.stderr).toContain('metrics.acc')
  })

  it('filters with the expression language', () => {
    const names = (expr: string) => repo.json(['show', '--filter', expr]).map((r: any) => r.name)
    expect(names('params.model == "svm"')).toEqual(['third'])
    expect(names('metrics.acc > 0.8 and (params.model == "rf" or params.lr <= 0.01)')).toEqual(['second'])
    expect(names("not name ~= '^(first|third)$'")).toEqual(['second'])
    expect(names('metrics.nope > 1')).toEqual([])
    expect(names(`created >= "2000-01-01"`)).toEqual(['third', 'second', 'first'])
    // given twice, both must hold
    expect(repo.json(['show', '--filter', 'metrics.acc > 0.8', '--filter', 'params.model == "rf"']).map((r: any) => r.name)).toEqual(['second'])
  })

  it('reports a filter syntax error with exit 2, its column and a caret', () => {
    const r = repo.xp(['show', '--filter', 'metrics.acc >> 0.9'])
    expect(r.code).toBe(2)
    expect(errorCode(r)).toBe('XP_BAD_FILTER')
    expect(r.stderr).toContain('column 14')
    const [expr, caret] = r.stderr.split('\n').slice(1, 3)
    expect(expr).toBe('  hint: metrics.acc >> 0.9')
    expect(caret.indexOf('^')).toBe(expr.indexOf('>> 0.9') + 1)
    expect(errorCode(repo.xp(['show', '--filter', 'name ~= "(bad"']))).toBe('XP_BAD_FILTER')
  })

  it('shows picked runs in the order named, by name, id or prefix', () => {
    const picked = repo.json(['show', 'second', ids.first.slice(0, 14), `refs/xp/runs/${ids.third}`])
    expect(picked.map((r: any) => r.name)).toEqual(['second', 'first', 'third'])
  })

  it('lists the candidates of an ambiguous prefix and names an unknown run', () => {
    // every id starts with the time, so 4 characters match all three runs
    const amb = repo.xp(['show', ids.first.slice(0, 4)])
    expect(amb.code).toBe(1)
    expect(errorCode(amb)).toBe('XP_RUN_AMBIGUOUS')
    for (const n of ['first', 'second', 'third']) expect(amb.stderr).toContain(n)
    const none = repo.xp(['show', 'nosuchrun'])
    expect(none.code).toBe(1)
    expect(errorCode(none)).toBe('XP_RUN_NOT_FOUND')
  })

  it('hides params and metrics that do not change with --only-changed', () => {
    const header = lines(runXp('show', 'first', 'second', '--only-changed').stdout)[0].split(/\s+/)
    expect(header).toEqual(['name', 'created', 'status', 'duration', 'acc', 'loss', 'lr'])
  })

  it('writes CSV (RFC 4180) with raw values and markdown with pipes escaped', () => {
    repo.git('notes', '--ref=refs/notes/xp', 'add', '-m', 'good, "really" | keep', `refs/xp/runs/${ids.second}`)
    const csv = runXp('show', '--csv').stdout
    const rows = csv.split('\r\n')
    expect(rows[0]).toBe('id,name,created,status,duration_s,metrics.acc,metrics.epochs,metrics.loss,params.lr,params.model,notes')
    expect(rows[2]).toMatch(
      new RegExp(`^${ids.second},second,\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z,succeeded,[\\d.]+,0.89,3,0.02123456789,0.01,rf,"good, ""really"" \\| keep"$`),
    )
    expect(rows[3]).toMatch(/,rf,$/)
    const md = lines(runXp('show', '--md').stdout)
    expect(md[0]).toBe('| name | created | status | duration | acc | epochs | loss | lr | model | notes |')
    expect(md[1]).toMatch(/^\|( ---:? \|)+$/)
    expect(md[3]).toContain('| good, "really" \\| keep |')
  })

  it('shows notes added with git notes in the table and JSON', () => {
    const table = runXp('show').stdout
    expect(lines(table)[0]).toMatch(/notes$/)
    expect(table).toContain('good, "really" | keep')
    expect(repo.json(['show', 'second'])[0].notes).toBe('good, "really" | keep')
  })
})

describe('xp diff', () => {
  it('compares the latest run with the one before it, in the JSON shape of docs/architecture.md#command-line', () => {
    const d = repo.json(['diff'])
    expect(d.a.name).toBe('second')
    expect(d.b.name).toBe('third')
    expect(d.a.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(d.params.lr).toEqual({ old: 0.01, new: 0.05, diff: 0.04, pct: 400 })
    expect(d.params.model).toEqual({ old: 'rf', new: 'svm', diff: null })
    expect(d.metrics.acc).toEqual({ old: 0.89, new: 0.85, diff: -0.04, pct: expect.closeTo(-4.494, 2) })
    expect(d.metrics.epochs).toBeUndefined()
    expect(Object.keys(d).sort()).toEqual(['a', 'b', 'metrics', 'params'])
  })

  it('compares one run with the run before it, and two runs as named', () => {
    expect(repo.json(['diff', 'second'])).toMatchObject({ a: { name: 'first' }, b: { name: 'second' } })
    const d = repo.json(['diff', 'first', 'third', '--all'])
    expect(d.a.name).toBe('first')
    expect(d.metrics.epochs).toEqual({ old: 3, new: 3, diff: 0, pct: 0 })
    expect(d.params.lr.diff).toBeCloseTo(-0.05)
  })

  it('prints changes side by side with notes, and markdown for a pull request', () => {
    const text = runXp('diff', 'first', 'second').stdout
    expect(text).toContain(`a: first (${ids.first})`)
    expect(text).toContain('note: good, "really" | keep')
    expect(text).toMatch(/acc\s+0\.8\s+0\.89\s+\+0\.09 \(\+11\.3%\)/)
    expect(text).toMatch(/lr\s+0\.1\s+0\.01\s+-0\.09 \(-90%\)/)
    expect(text).not.toMatch(/epochs/)
    const md = runXp('diff', 'first', 'second', '--md').stdout
    expect(md).toContain('| Metric | first | second | Change |')
    expect(md).toContain('| acc | 0.8 | 0.89 | +0.09 (+11.3%) |')
    expect(md).toContain('good, "really" \\| keep')
  })

  it('adds git diff --stat of the two commits with --code', () => {
    const text = runXp('diff', 'first', 'third', '--code').stdout
    expect(text).toMatch(/params\.yaml\s+\| 4 \+\+--/)
    expect(repo.json(['diff', 'first', 'third', '--code']).code).toMatch(/2 files changed/)
  })

  it('refuses with a clear code when there is no run to compare with', () => {
    const r = repo.xp(['diff', 'first'])
    expect(r.code).toBe(1)
    expect(errorCode(r)).toBe('XP_NOT_ENOUGH_RUNS')
    expect(errorCode(repo.xp(['diff', 'nosuchrun']))).toBe('XP_RUN_NOT_FOUND')
  })
})

describe('show and diff in edge cases', () => {
  it('says so on stderr in a repo with no runs; [] as JSON; diff needs two runs', () => {
    const empty = new TestRepo({ files: { 'a.txt': 'a\n' } })
    const r = empty.xp(['show'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/no runs yet/)
    expect(empty.xp(['show', '--json']).stdout).toBe('[]\n')
    const d = empty.xp(['diff'])
    expect(d.code).toBe(1)
    expect(errorCode(d)).toBe('XP_NOT_ENOUGH_RUNS')
  })

  it('keeps listing runs after their baseline branch is deleted and gc-ed, and narrows with --baseline', () => {
    const main = repo.git('rev-parse', 'HEAD').trim()
    repo.git('checkout', '-q', '-b', 'doomed')
    repo.write('note.txt', 'on a branch that will go\n')
    repo.git('add', 'note.txt')
    repo.git('commit', '-q', '-m', 'doomed work')
    const doomed = repo.git('rev-parse', 'HEAD').trim()
    runXp('run', '-n', 'orphan', '--', 'node', 'train.cjs')
    repo.git('checkout', '-q', 'main')
    repo.git('branch', '-D', 'doomed')
    repo.git('reflog', 'expire', '--expire=now', '--all')
    repo.git('gc', '-q', '--prune=now')
    const runs = repo.json(['show'])
    expect(runs.map((r: any) => r.name)).toEqual(['orphan', 'third', 'second', 'first'])
    expect(runs[0].baseline).toBe(doomed)
    expect(repo.json(['show', '--baseline', 'main']).map((r: any) => r.name)).toEqual(['third', 'second', 'first'])
    expect(repo.json(['show', '--baseline', main.slice(0, 10)]).map((r: any) => r.name)).toEqual(['third', 'second', 'first'])
    // the deleted branch's commit lives on in the run, so its sha still narrows
    expect(repo.json(['show', '--baseline', doomed.slice(0, 12)]).map((r: any) => r.name)).toEqual(['orphan'])
    expect(errorCode(repo.xp(['show', '--baseline', 'no-such-branch']))).toBe('XP_BAD_REVISION')
    expect(repo.json(['diff']).a.name).toBe('third')
  })
})

describe('the record index', () => {
  it('is a cache only: torn, foreign or missing lines, deleted runs and a lost file change nothing', () => {
    const expected = runXp('show', '--json').stdout
    const file = repo.path('.git', 'xp', 'runs-v2.idx')
    const text = fs.readFileSync(file, 'utf8')
    expect(text.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(3)
    // a torn last line and garbage: ignored, the runs read from git again
    const [firstLine] = text.split('\n')
    fs.writeFileSync(file, 'garbage\tline\n' + text.split('\n').slice(1).join('\n') + firstLine.slice(0, 60))
    expect(runXp('show', '--json').stdout).toBe(expected)
    // the run read again was appended on a line of its own, after the torn one
    const wellFormed = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => /^[0-9a-f]{40} refs\/xp\/runs\/[0-9a-z]{20}\t("[^"]*")?\t\{.*\}$/.test(l))
    expect(wellFormed.length).toBe(text.split('\n').filter(Boolean).length)
    fs.rmSync(file)
    expect(runXp('show', '--json').stdout).toBe(expected)
    expect(fs.existsSync(file)).toBe(true)
    // a ref under refs/xp/runs/ without a record is skipped; a deleted run is gone although indexed
    const fake = '01m8zzzzzzzzzzzzzzzz'
    repo.git('update-ref', `refs/xp/runs/${fake}`, 'HEAD')
    expect(runXp('show', '--json').stdout).toBe(expected)
    repo.git('update-ref', '-d', `refs/xp/runs/${fake}`)
    repo.git('update-ref', '-d', `refs/xp/runs/${ids.first}`)
    expect(repo.json(['show']).map((r: any) => r.name)).not.toContain('first')
  })
})
