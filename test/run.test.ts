import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import { spawnSync } from 'node:child_process'
import { TestRepo, errorCode, cleanupTmp, tmpDir, testEnv, XP } from './helpers.js'

afterAll(cleanupTmp)

const TRAIN = `
const fs = require('fs')
const p = fs.readFileSync('params.yaml', 'utf8')
const lr = Number(/lr: *([^\\s#]+)/.exec(p)[1])
console.log('training with lr', lr, 'as', process.env.XP_RUN_NAME, process.env.XP_RUN_ID)
fs.writeFileSync('metrics.json', JSON.stringify({ acc: 1 - lr, loss: { val: lr * 2 } }))
fs.mkdirSync('logs', { recursive: true })
fs.writeFileSync('logs/train.tsv', 'step\\tloss\\n0\\t1\\n1\\t0.5\\n')
`

function project(extra: Record<string, string> = {}) {
  return new TestRepo({
    files: {
      'train.cjs': TRAIN,
      'params.yaml': '# training params\nlr: 0.1 # learning rate\nmodel:\n  depth: 3\n  name: rf\n',
      'xp.yaml': 'metrics: [metrics.json]\nseries: [logs/*.tsv]\n',
      '.gitignore': 'logs/\n',
      ...extra,
    },
  })
}

/** Everything git stores of the user's state: HEAD, the branch, the index file. */
function userState(repo: TestRepo) {
  return {
    head: repo.git('rev-parse', 'HEAD'),
    branch: repo.git('symbolic-ref', 'HEAD'),
    index: fs.readFileSync(repo.path('.git/index')).toString('base64'),
    refs: repo.git('for-each-ref', 'refs/heads', 'refs/tags'),
  }
}

describe('xp run', () => {
  it('records a run as a commit on refs/xp/runs whose parent is HEAD, leaving HEAD, branch and index alone', () => {
    const repo = project()
    const before = userState(repo)
    const r = repo.xp(['run', '-n', 'first', '-m', 'baseline try', '--', 'node', 'train.cjs'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/training with lr 0.1 as first [0-9a-z]{20}/)
    expect(userState(repo)).toEqual(before)
    const refs = repo.git('for-each-ref', '--format=%(refname) %(objectname)', 'refs/xp/runs/').trim().split('\n')
    expect(refs).toHaveLength(1)
    const [ref, commit] = refs[0].split(' ')
    expect(repo.git('rev-parse', `${commit}^`).trim()).toBe(before.head.trim())
    const msg = repo.git('log', '-1', '--format=%B', ref)
    expect(msg.split('\n')[0]).toBe('xp: first succeeded: node train.cjs')
    const files = repo.git('ls-tree', '-r', '--name-only', commit).trim().split('\n')
    // the metrics and series the command wrote are in the tree, ignored or not, and so is the log
    expect(files).toEqual(expect.arrayContaining(['metrics.json', 'logs/train.tsv', '.xp-run/output.log', 'params.yaml', 'train.cjs']))
    expect(repo.git('show', `${commit}:.xp-run/output.log`)).toContain('training with lr 0.1')
    const [rec] = repo.json(['show'])
    expect(rec).toMatchObject({
      name: 'first',
      status: 'succeeded',
      exit_code: 0,
      command: 'node train.cjs',
      message: 'baseline try',
      baseline: before.head.trim(),
      branch: 'main',
      params: { lr: 0.1, 'model.depth': 3, 'model.name': 'rf' },
      metrics: { acc: 0.9, 'loss.val': 0.2 },
      series: ['logs/train.tsv'],
      commit,
      ref,
    })
    expect(rec.duration_s).toBeGreaterThanOrEqual(0)
    expect(rec.env.node).toBe(process.version)
    expect(spawnSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: repo.dir, env: repo.env }).status).toBe(0)
  })

  it('-S edits params in place keeping comments and order, with typed and nested values (new keys with +KEY)', () => {
    const repo = project()
    const r = repo.xp(['run', '-S', 'lr=1e-3', '-S', 'model.depth=8', '-S', 'model.name=xgb', '-S', '+model.deep=true', '--', 'node', 'train.cjs'])
    expect(r.code).toBe(0)
    expect(repo.read('params.yaml')).toBe('# training params\nlr: 1e-3 # learning rate\nmodel:\n  depth: 8\n  name: xgb\n  deep: true\n')
    const [rec] = repo.json(['show'])
    expect(rec.params).toEqual({ lr: 0.001, 'model.depth': 8, 'model.name': 'xgb', 'model.deep': true })
  })

  it('-S FILE:KEY edits another params file; a missing file is an error and nothing runs', () => {
    const repo = project({ 'conf.json': '{"batch": 32}\n' })
    expect(repo.xp(['run', '-S', 'conf.json:batch=64', '--', 'true']).code).toBe(0)
    expect(JSON.parse(repo.read('conf.json'))).toEqual({ batch: 64 })
    const r = repo.xp(['run', '-S', 'nope.yaml:x=1', '--', 'touch', 'ran'])
    expect(r.code).toBe(1)
    expect(errorCode(r)).toBe('XP_PARAMS_FILE_MISSING')
    expect(repo.exists('ran')).toBe(false)
  })

  it('passes the exit code through and records failed runs with their output tail', () => {
    const repo = project()
    const r = repo.xp(['run', '-n', 'bad', '--', 'sh', '-c', 'echo oops >&2; exit 3'])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('oops')
    const [rec] = repo.json(['show'])
    expect(rec).toMatchObject({ name: 'bad', status: 'failed', exit_code: 3 })
    expect(rec.error_tail).toContain('oops')
  })

  it('records a command that does not exist as failed with 127', () => {
    const repo = project()
    const r = repo.xp(['run', '--', 'no-such-command-xyz'])
    expect(r.code).toBe(127)
    expect(r.stderr).toContain('command not found: no-such-command-xyz')
    expect(repo.json(['show'])[0]).toMatchObject({ status: 'failed', exit_code: 127 })
  })

  it('runs the command of xp.yaml through the shell when none is given, and errors when there is none', () => {
    const repo = project()
    const none = repo.xp(['run'])
    expect(none.code).toBe(2)
    expect(errorCode(none)).toBe('XP_NO_COMMAND')
    repo.write('xp.yaml', 'command: node train.cjs && echo done-$XP_RUN_NAME\nmetrics: metrics.json\n')
    const r = repo.xp(['run', '-n', 'cfg'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('done-cfg')
  })

  it('takes the command without -- too, leaving its options to it', () => {
    const repo = project()
    const r = repo.xp(['run', '-n', 'nodash', 'node', '-e', 'console.log(process.argv.slice(1).join(","))', '--', '-n', 'x'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('-n,x')
    expect(repo.json(['show'])[0].name).toBe('nodash')
  })

  it('stops before running when params.yaml is malformed, naming file and line; nothing is recorded', () => {
    const repo = project()
    repo.write('params.yaml', 'lr: 0.1\nmodel: [1, 2\nx: 1\n')
    const r = repo.xp(['run', '--', 'touch', 'ran'])
    expect(r.code).toBe(1)
    expect(errorCode(r)).toBe('XP_BAD_FILE')
    expect(r.stderr).toMatch(/params\.yaml:\d+/)
    expect(repo.exists('ran')).toBe(false)
    expect(repo.git('for-each-ref', 'refs/xp/')).toBe('')
  })

  it('refuses a YAML bomb and a 1 MB param value with clear codes', () => {
    const repo = project()
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]']
    for (let i = 0; i < 9; i++)
      bomb.push(
        `${'bcdefghij'[i]}: &${'bcdefghij'[i]} [${Array(9)
          .fill('*' + 'abcdefghi'[i])
          .join(', ')}]`,
      )
    repo.write('params.yaml', bomb.join('\n') + '\n')
    const r1 = repo.xp(['run', '--', 'true'])
    expect(errorCode(r1)).toBe('XP_BAD_FILE')
    repo.write('params.yaml', `blob: ${'x'.repeat(1024 * 1024)}\n`)
    const r2 = repo.xp(['run', '--', 'true'])
    expect(errorCode(r2)).toBe('XP_VALUE_TOO_LARGE')
    expect(r2.stderr.length).toBeLessThan(1000)
    expect(repo.git('for-each-ref', 'refs/xp/')).toBe('')
  })

  it('warns when a metrics file was never written or is malformed, and still records the run', () => {
    const repo = project()
    const r = repo.xp(['run', '--', 'true'])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/warning: metrics file metrics.json was not written/)
    const bad = repo.xp(['run', '--', 'sh', '-c', 'echo "{bad" > metrics.json'])
    expect(bad.code).toBe(0)
    expect(bad.stderr).toMatch(/warning: metrics.json:1: invalid JSON/)
    expect(repo.json(['show'])).toHaveLength(2)
  })

  it('without a metrics setting, takes metrics.json or DVCLive metrics that the run wrote', () => {
    const repo = new TestRepo({ files: { 'params.yaml': 'lr: 1\n' } })
    expect(repo.xp(['run', '-n', 'plain', '--', 'sh', '-c', 'echo \'{"acc": 0.5}\' > metrics.json']).code).toBe(0)
    const old = new Date(Date.now() - 60_000)
    fs.utimesSync(repo.path('metrics.json'), old, old)
    const r = repo.xp(['run', '-n', 'live', '--', 'sh', '-c', 'mkdir -p dvclive && echo \'{"loss": 0.25}\' > dvclive/metrics.json'])
    expect(r.stderr).not.toMatch(/warning/)
    const runs = repo.json(['show'])
    expect(runs.find((x: any) => x.name === 'plain').metrics).toEqual({ acc: 0.5 })
    // the stale metrics.json is not this run's; DVCLive's is
    expect(runs.find((x: any) => x.name === 'live').metrics).toEqual({ loss: 0.25 })
  })

  it('does not take metrics a failed run left untouched from an earlier run', () => {
    const repo = project()
    expect(repo.xp(['run', '-n', 'good', '--', 'node', 'train.cjs']).code).toBe(0)
    const old = new Date(Date.now() - 60_000)
    fs.utimesSync(repo.path('metrics.json'), old, old)
    const r = repo.xp(['run', '-n', 'crash', '--', 'sh', '-c', 'exit 1'])
    expect(r.stderr).toMatch(/metrics.json was not written by this run/)
    expect(repo.json(['show']).find((x: any) => x.name === 'crash').metrics).toEqual({})
  })

  it('rejects invalid and taken names before running', () => {
    const repo = project()
    for (const bad of ['a/b', 'with space', '../x']) {
      const r = repo.xp(['run', '-n', bad, '--', 'touch', 'ran'])
      expect(r.code).toBe(2)
      expect(errorCode(r)).toBe('XP_BAD_RUN_NAME')
    }
    expect(repo.xp(['run', '-n', 'dup', '--', 'true']).code).toBe(0)
    expect(errorCode(repo.xp(['run', '-n', 'dup', '--', 'touch', 'ran']))).toBe('XP_RUN_NAME_TAKEN')
    expect(repo.exists('ran')).toBe(false)
  })

  it('refuses a grid without --queue', () => {
    const r = project().xp(['run', '-S', 'lr=0.1,0.01', '--', 'true'])
    expect(r.code).toBe(2)
    expect(errorCode(r)).toBe('XP_GRID_NEEDS_QUEUE')
  })

  it('puts large untracked files in the cache behind a pointer (issue 3), and leaves ignored files out always', () => {
    const repo = project()
    repo.write('.gitignore', 'logs/\nsecret.env\n')
    repo.write('secret.env', 'x')
    fs.writeFileSync(repo.path('big.bin'), Buffer.alloc(11 * 1000 * 1000))
    repo.write('small.txt', 'hi')
    const r = repo.xp(['run', '--', 'true'])
    expect(r.code).toBe(0)
    expect(r.stderr).not.toMatch(/big\.bin/)
    const files = repo.git('ls-tree', '-r', '--name-only', 'refs/xp/runs/' + repo.json(['show'])[0].id)
    expect(files).toContain('small.txt')
    expect(files).not.toContain('big.bin\n')
    expect(files).toContain('big.bin.xp\n')
    expect(files).not.toContain('secret.env')
  })

  it('works on an unborn branch: no parent, baseline null', () => {
    const repo = new TestRepo()
    repo.write('a.txt', 'a')
    const r = repo.xp(['run', '--', 'true'])
    expect(r.code).toBe(0)
    const [rec] = repo.json(['show'])
    expect(rec.baseline).toBeNull()
    expect(repo.git('rev-list', '--parents', '-1', rec.commit).trim()).toBe(rec.commit)
    expect(repo.git('ls-tree', '--name-only', rec.commit)).toContain('a.txt')
  })

  it('records four runs started at the same moment in one repo', async () => {
    const repo = project()
    const children = Array.from({ length: 4 }, (_, i) =>
      repo.spawnXp(['run', '-n', `par-${i}`, '--', 'node', '-e', `require('fs').writeFileSync('out-${i}.txt', 'x')`]),
    )
    const codes = await Promise.all(children.map((c) => new Promise<number>((res) => c.on('close', (code) => res(code ?? 1)))))
    expect(codes).toEqual([0, 0, 0, 0])
    const runs = repo.json(['show'])
    expect(runs.map((r: any) => r.name).sort()).toEqual(['par-0', 'par-1', 'par-2', 'par-3'])
    expect(spawnSync('git', ['fsck', '--strict'], { cwd: repo.dir, env: repo.env }).status).toBe(0)
    expect(repo.git('status', '--porcelain')).not.toMatch(/^[AMD]/m)
  })

  it('forwards SIGINT, records the run as interrupted and exits 130', async () => {
    const repo = project()
    const script = "process.on('SIGINT', () => { console.log('got SIGINT'); process.exit(5) }); console.log('ready'); setInterval(() => {}, 1000)"
    const child = repo.spawnXp(['run', '-n', 'stopped', '--', 'node', '-e', script])
    let out = ''
    await new Promise<void>((res) => child.stdout.on('data', (d) => ((out += d), out.includes('ready') && res())))
    child.kill('SIGINT')
    const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? -1)))
    expect(code).toBe(130)
    expect(out).toContain('got SIGINT')
    expect(repo.json(['show'])[0]).toMatchObject({ name: 'stopped', status: 'interrupted', exit_code: 5 })
  })

  it('never writes a secret into any git object', () => {
    const repo = project()
    const secret = 'sk-live-9f8e7d6c5b4a'
    const env = { MY_API_TOKEN: secret, XP_ENV_VARS: 'MY_*,CUDA_VISIBLE_DEVICES', CUDA_VISIBLE_DEVICES: '0' }
    const r = repo.xp(['run', '-n', 'sec', '--', 'sh', '-c', `echo "token is $MY_API_TOKEN"; echo ${secret} >&2`], { env })
    expect(r.code).toBe(0)
    const rec = repo.json(['show'])[0]
    expect(rec.env.vars).toEqual({ MY_API_TOKEN: '***', CUDA_VISIBLE_DEVICES: '0' })
    const all = spawnSync('git', ['cat-file', '--batch-all-objects', '--batch'], { cwd: repo.dir, env: repo.env, maxBuffer: 1 << 28 }).stdout.toString('latin1')
    expect(all).toContain('token is ***')
    expect(all).not.toContain(secret)
  })

  it('records runs and notes for a user with no git identity configured', () => {
    const repo = project()
    for (const k of ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL']) delete repo.env[k]
    repo.env.USER = 'nobody'
    repo.git('config', 'user.useConfigOnly', 'true')
    expect(repo.xp(['run', '-n', 'anon', '--', 'true']).code).toBe(0)
    expect(repo.xp(['note', 'anon', 'hello']).code).toBe(0)
    expect(repo.git('log', '-1', '--format=%an <%ae>', 'refs/xp/runs/' + repo.json(['show'])[0].id).trim()).toBe('nobody <nobody@localhost>')
  })

  it('fails outside a git repository with exit 3', () => {
    const dir = tmpDir()
    const r = spawnSync(process.execPath, [XP, 'run', '--', 'true'], { cwd: dir, env: testEnv(dir), encoding: 'utf8' })
    expect(r.status).toBe(3)
    expect(r.stderr).toContain('[XP_NOT_A_REPO]')
  })
})

describe('apply, branch, rm, note', () => {
  it("apply writes a run's files without moving HEAD or the index, and refuses over local changes", () => {
    const repo = project()
    repo.xp(['run', '-n', 'deep', '-S', 'model.depth=9', '--', 'node', 'train.cjs'])
    repo.git('checkout', '--', 'params.yaml')
    fs.rmSync(repo.path('metrics.json'))
    const before = userState(repo)
    repo.write('params.yaml', 'lr: 0.5\n')
    const refused = repo.xp(['apply', 'deep'])
    expect(refused.code).toBe(1)
    expect(errorCode(refused)).toBe('XP_UNCOMMITTED_CHANGES')
    expect(repo.read('params.yaml')).toBe('lr: 0.5\n')
    const r = repo.json(['apply', 'deep', '--force'])
    expect(r.written).toEqual(expect.arrayContaining(['params.yaml', 'metrics.json']))
    expect(r.written).not.toContain('.xp-run/output.log')
    expect(repo.read('params.yaml')).toContain('depth: 9')
    expect(repo.exists('.xp-run')).toBe(false)
    expect(userState(repo)).toEqual(before)
  })

  it('branch makes a branch at the run; an existing branch or bad name is an error', () => {
    const repo = project()
    repo.xp(['run', '-n', 'b1', '--', 'true'])
    const rec = repo.json(['show'])[0]
    expect(repo.xp(['branch', 'b1', 'exp/b1']).code).toBe(0)
    expect(repo.git('rev-parse', 'exp/b1').trim()).toBe(rec.commit)
    expect(errorCode(repo.xp(['branch', 'b1', 'exp/b1']))).toBe('XP_BRANCH_EXISTS')
    expect(errorCode(repo.xp(['branch', 'b1', 'bad..name']))).toBe('XP_BAD_BRANCH_NAME')
  })

  it('rm deletes runs all or nothing', () => {
    const repo = project()
    repo.xp(['run', '-n', 'r1', '--', 'true'])
    repo.xp(['run', '-n', 'r2', '--', 'true'])
    const r = repo.xp(['rm', 'r1', 'nope'])
    expect(errorCode(r)).toBe('XP_RUN_NOT_FOUND')
    expect(repo.json(['show'])).toHaveLength(2)
    expect(repo.xp(['rm', 'r1']).code).toBe(0)
    expect(repo.json(['show']).map((x: any) => x.name)).toEqual(['r2'])
  })

  it('note appends git notes on refs/notes/xp that show lists', () => {
    const repo = project()
    repo.xp(['run', '-n', 'n1', '--', 'true'])
    repo.xp(['note', 'n1', 'looks promising'])
    repo.xp(['note', 'n1', 'try a deeper model'])
    const rec = repo.json(['show'])[0]
    expect(rec.notes).toBe('looks promising\n\ntry a deeper model')
    expect(repo.git('notes', '--ref=refs/notes/xp', 'show', rec.commit)).toContain('looks promising')
    expect(errorCode(repo.xp(['note', 'nobody', 'x']))).toBe('XP_RUN_NOT_FOUND')
  })
})
