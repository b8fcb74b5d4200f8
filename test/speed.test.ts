/**
 * Issue 16: the fast paths give the same results as the slow ones they replaced, and use
 * the few git processes they claim (counted with a logging `git` first on PATH). Never a
 * time assertion: the bench (bench/speed.mjs) measures time.
 */
import { describe, it, expect, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { TestRepo, tmpDir, cleanupTmp } from './helpers.js'

afterAll(cleanupTmp)

/** A `git` that logs its arguments (one line a call) and runs the real one. */
function gitLogger(): { dir: string; log: string; calls: () => string[] } {
  const dir = tmpDir('xp-gitlog-')
  const log = path.join(dir, 'calls.log')
  const real = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim()
  fs.writeFileSync(path.join(dir, 'git'), `#!/bin/sh\necho "$1" >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 })
  return { dir, log, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []) }
}

const treeOf = (repo: TestRepo, commit: string) =>
  repo
    .git('ls-tree', '-r', commit)
    .trim()
    .split('\n')
    .filter((l) => !l.endsWith('\t.xp-run/output.log'))

/** What `git add -A` would make of the working tree, through a throwaway index. */
function addAllTree(repo: TestRepo): string {
  const index = path.join(repo.dir, '.git', 'index-check')
  fs.copyFileSync(path.join(repo.dir, '.git', 'index'), index)
  const env = { ...repo.env, GIT_INDEX_FILE: index }
  spawnSync('git', ['add', '-A'], { cwd: repo.dir, env })
  const tree = spawnSync('git', ['write-tree'], { cwd: repo.dir, env, encoding: 'utf8' }).stdout.trim()
  fs.rmSync(index)
  return tree
}

describe('xp run snapshot through one update-index', () => {
  it('records what `git add -A` would, with ignored params forced in and a large file behind a pointer, the user index untouched', () => {
    const repo = new TestRepo({
      files: {
        'a.txt': 'a\n',
        'gone.txt': 'bye\n',
        'becomes-dir': 'file\n',
        'dir/becomes-file/x.txt': 'x\n',
        'same.txt': 'same\n',
        'run.sh': '#!/bin/sh\n',
        '.gitignore': 'params.yaml\n*.log\n',
      },
    })
    fs.writeFileSync(path.join(repo.dir, 'params.yaml'), 'lr: 0.1\n')
    repo.write('a.txt', 'changed\n')
    fs.rmSync(path.join(repo.dir, 'gone.txt'))
    fs.rmSync(path.join(repo.dir, 'becomes-dir'))
    repo.write('becomes-dir/inner.txt', 'inner\n')
    fs.rmSync(path.join(repo.dir, 'dir', 'becomes-file'), { recursive: true })
    repo.write('dir/becomes-file', 'now a file\n')
    repo.write('new dir/with space.txt', 'new\n')
    repo.write('debug.log', 'ignored\n')
    fs.chmodSync(path.join(repo.dir, 'run.sh'), 0o755)
    fs.writeFileSync(path.join(repo.dir, 'big.bin'), Buffer.alloc(2048, 1))
    fs.writeFileSync(path.join(repo.dir, 'xp.yaml'), 'snapshot: {max_file_size: 1000}\n')
    const index = fs.readFileSync(path.join(repo.dir, '.git', 'index'))
    // the same tree as git add -A, but for the large file
    fs.renameSync(path.join(repo.dir, 'big.bin'), path.join(repo.home, 'big.bin'))
    const expected = addAllTree(repo)
    fs.renameSync(path.join(repo.home, 'big.bin'), path.join(repo.dir, 'big.bin'))

    const r = repo.xp(['run', '-n', 'snap', '--', 'true'])
    expect(r.code).toBe(0)
    expect(fs.readFileSync(path.join(repo.dir, '.git', 'index')).equals(index)).toBe(true)
    const commit = repo.git('rev-parse', 'refs/xp/runs/' + repo.json(['show'])[0].id).trim()
    const got = treeOf(repo, commit)
    // params.yaml is ignored, yet a run keeps its params; the large file is cached behind a pointer
    expect(got.some((l) => l.endsWith('\tparams.yaml'))).toBe(true)
    expect(got.some((l) => l.endsWith('\tbig.bin.xp'))).toBe(true)
    expect(got.filter((l) => !/\t(params\.yaml|big\.bin\.xp)$/.test(l))).toEqual(treeOf(repo, expected))
    expect(got.find((l) => l.endsWith('\trun.sh'))).toMatch(/^100755 /)
    expect(repo.git('show', `${commit}:.xp-run/output.log`)).toBe('')
    expect(spawnSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: repo.dir, env: repo.env }).status).toBe(0)
  })

  it('writes the output log as a blob git reads back, in a SHA-1 and a SHA-256 repository', () => {
    for (const format of ['sha1', 'sha256']) {
      const repo = new TestRepo({ init: false })
      repo.git('init', '-q', '-b', 'main', `--object-format=${format}`)
      repo.write('f.txt', 'f\n')
      repo.git('add', '-A')
      repo.git('commit', '-q', '-m', 'init')
      const r = repo.xp(['run', '--', 'node', '-e', 'console.log("hello from " + process.argv[1])', format])
      expect(r.code).toBe(0)
      const [rec] = repo.json(['show'])
      expect(repo.git('show', `refs/xp/runs/${rec.id}:.xp-run/output.log`)).toBe(`hello from ${format}\n`)
      expect(spawnSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: repo.dir, env: repo.env }).status).toBe(0)
    }
  })

  it('records a run in a detached HEAD and on an unborn branch', () => {
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    const head = repo.git('rev-parse', 'HEAD').trim()
    repo.git('checkout', '-q', '--detach')
    expect(repo.xp(['run', '-n', 'detached', '--', 'true']).code).toBe(0)
    const unborn = new TestRepo()
    unborn.write('b.txt', 'b\n')
    expect(unborn.xp(['run', '-n', 'first', '--', 'true']).code).toBe(0)
    expect(repo.json(['show'])[0]).toMatchObject({ name: 'detached', baseline: head, branch: null })
    const [first] = unborn.json(['show'])
    expect(first).toMatchObject({ name: 'first', baseline: null, branch: 'main' })
    expect(unborn.git('ls-tree', '--name-only', first.commit)).toContain('b.txt')
  })

  it('takes three git processes where it took eleven', () => {
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    expect(repo.xp(['run', '--', 'true']).code).toBe(0) // caches `git --version` and the identity
    const g = gitLogger()
    repo.write('a.txt', 'b\n')
    const r = repo.xp(['run', '--', 'true'], { env: { PATH: `${g.dir}:${repo.env.PATH}` } })
    expect(r.code).toBe(0)
    // (a new git binary on PATH: its version is asked once more)
    // the run names and HEAD come from the record index and the ref files (the first run added
    // itself); the commit and its ref are written in-process
    expect(g.calls().filter((c) => c !== '--version')).toEqual(['ls-files', 'update-index', 'write-tree'])
  })
})

describe('the run commit and its ref written in-process', () => {
  it('writes what git would, with the identity git has now, and leaves to git what the config asks of it (a reflog, an encoding)', () => {
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    for (const k of ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL']) delete repo.env[k]
    repo.git('config', 'user.name', 'Ada Lovelace')
    repo.git('config', 'user.email', 'ada@example.com')
    const g = gitLogger()
    const env = { env: { PATH: `${g.dir}:${repo.env.PATH}` } }
    const run = (name: string) => {
      repo.write('a.txt', `${name}\n`)
      const r = repo.xp(['run', '-n', name, '--', 'true'], env)
      expect(r.code, r.stderr).toBe(0)
      const ref = `refs/xp/runs/${repo.json(['show', name])[0].id}`
      return { ref, who: repo.git('log', '-1', '--format=%an <%ae>|%cn <%ce>', ref).trim() }
    }
    expect(run('one').who).toBe('Ada Lovelace <ada@example.com>|Ada Lovelace <ada@example.com>')
    expect(run('two').who).toBe('Ada Lovelace <ada@example.com>|Ada Lovelace <ada@example.com>')
    expect(g.calls().filter((c) => c === 'var' || c === 'commit-tree' || c === 'update-ref')).toEqual(['var', 'var']) // asked once
    // a changed config is the next run's identity (the global one too)
    repo.git('config', 'user.email', 'ada@lovelace.example')
    expect(run('three').who).toBe('Ada Lovelace <ada@lovelace.example>|Ada Lovelace <ada@lovelace.example>')
    repo.git('config', '--unset', 'user.email')
    fs.writeFileSync(path.join(repo.home, '.gitconfig'), '[user]\n\temail = ada@home.example\n')
    expect(run('four').who).toBe('Ada Lovelace <ada@home.example>|Ada Lovelace <ada@home.example>')
    expect(spawnSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: repo.dir, env: repo.env }).status).toBe(0)
    // a reflog of every ref: git writes the ref (and its reflog)
    fs.rmSync(g.log)
    repo.git('config', 'core.logAllRefUpdates', 'always')
    const logged = run('five')
    expect(fs.existsSync(path.join(repo.dir, '.git', 'logs', ...logged.ref.split('/')))).toBe(true)
    expect(g.calls()).toContain('update-ref')
    // an encoding for commit messages: git writes the commit, with its header
    repo.git('config', 'i18n.commitEncoding', 'ISO-8859-1')
    expect(repo.git('cat-file', 'commit', run('six').ref)).toContain('\nencoding ISO-8859-1\n')
    expect(g.calls()).toContain('commit-tree')
  })

  it("gives a repository shared by a group its objects and ref with the group's permissions", () => {
    const repo = new TestRepo({ init: false })
    repo.git('init', '-q', '-b', 'main', '--shared=group')
    repo.write('a.txt', 'a\n')
    repo.git('add', '-A')
    repo.git('commit', '-q', '-m', 'init')
    for (const name of ['one', 'two']) {
      repo.write('a.txt', `${name}\n`)
      expect(repo.xp(['run', '-n', name, '--', 'echo', `a log line of ${name}`]).code).toBe(0)
    }
    const ref = `refs/xp/runs/${repo.json(['show', 'two'])[0].id}`
    expect(fs.statSync(path.join(repo.dir, '.git', ...ref.split('/'))).mode & 0o060).toBe(0o060)
    // every object folder is the group's (the runs' logs and commits among them)
    const objects = path.join(repo.dir, '.git', 'objects')
    const folders = fs.readdirSync(objects).filter((d) => /^[0-9a-f]{2}$/.test(d))
    expect(folders.filter((d) => (fs.statSync(path.join(objects, d)).mode & 0o070) !== 0o070)).toEqual([])
  })

  it('creates a ref only where none is, loose or packed, and leaves a held lock to git', async () => {
    const { createRefFile } = await import('../src/core/ref-files.js')
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    const head = repo.git('rev-parse', 'HEAD').trim()
    const common = path.join(repo.dir, '.git')
    const codeOf = (f: () => unknown) => {
      try {
        return f()
      } catch (e) {
        return (e as { code?: string }).code
      }
    }
    expect(createRefFile(common, {}, 'refs/xp/runs/new', head)).toBe(true)
    expect(repo.git('rev-parse', 'refs/xp/runs/new').trim()).toBe(head)
    expect(codeOf(() => createRefFile(common, {}, 'refs/xp/runs/new', head))).toBe('XP_REF_EXISTS')
    repo.git('update-ref', 'refs/xp/runs/packed', head)
    repo.git('pack-refs', '--all')
    expect(codeOf(() => createRefFile(common, {}, 'refs/xp/runs/packed', head))).toBe('XP_REF_EXISTS')
    expect(fs.readdirSync(path.join(common, 'refs', 'xp', 'runs'))).toEqual([]) // no lock left behind
    fs.writeFileSync(path.join(common, 'refs', 'xp', 'runs', 'held.lock'), '')
    expect(createRefFile(common, {}, 'refs/xp/runs/held', head)).toBe(false)
    expect(fs.existsSync(path.join(common, 'refs', 'xp', 'runs', 'held.lock'))).toBe(true) // another writer's, untouched
    expect(createRefFile(common, { GIT_DIR: common }, 'refs/xp/runs/other', head)).toBe(false)
    expect(createRefFile(common, {}, 'refs/xp/runs/../../HEAD', head)).toBe(false)
  })
})

describe('finding the repository without git rev-parse', () => {
  it('finds what git finds: subfolder, symlinked path, linked worktree, and defers to git for a submodule, a bare repository or GIT_DIR', async () => {
    const { locateRepo } = await import('../src/core/repo.js')
    const repo = new TestRepo({ files: { 'sub/deep/f.txt': 'f\n' } })
    const asGit = (cwd: string, env = repo.env) => {
      const r = spawnSync('git', ['rev-parse', '--show-toplevel', '--absolute-git-dir', '--git-common-dir'], { cwd, env, encoding: 'utf8' })
      const [root, gitDir, common] = r.stdout.trim().split('\n')
      // git names the common dir relative to a cwd that may run through a symlink: compare real paths
      return { root, gitDir, commonDir: fs.realpathSync(path.resolve(cwd, common)) }
    }
    const link = path.join(repo.home, 'link')
    fs.symlinkSync(repo.dir, link)
    repo.git('worktree', 'add', '-q', path.join(repo.home, 'wt'))
    const sub = new TestRepo({ files: { 'x.txt': 'x\n' } })
    spawnSync('git', ['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub.dir, 'mod'], { cwd: repo.dir, env: repo.env })
    expect(fs.statSync(path.join(repo.dir, 'mod', '.git')).isFile()).toBe(true)
    for (const cwd of [repo.dir, path.join(repo.dir, 'sub', 'deep'), path.join(link, 'sub'), path.join(repo.home, 'wt', 'sub')]) {
      expect(locateRepo({ cwd, env: repo.env }), cwd).toEqual(asGit(cwd))
    }
    // a submodule's git dir sets core.worktree: git decides
    expect(locateRepo({ cwd: path.join(repo.dir, 'mod'), env: repo.env })).toBeNull()
    const bare = path.join(repo.home, 'bare.git')
    repo.git('init', '-q', '--bare', bare)
    expect(locateRepo({ cwd: bare, env: repo.env })).toBeNull()
    expect(locateRepo({ cwd: path.join(repo.dir, '.git'), env: repo.env })).toBeNull()
    expect(locateRepo({ cwd: repo.dir, env: { ...repo.env, GIT_DIR: path.join(repo.dir, '.git') } })).toBeNull()
    expect(locateRepo({ cwd: repo.home, env: repo.env })).toBeNull()
    // settings that move the working tree: git decides
    repo.git('config', 'extensions.worktreeConfig', 'true')
    expect(locateRepo({ cwd: repo.dir, env: repo.env })).toBeNull()
  })
})

describe('the everyday calls skip yargs', () => {
  it('parses only the obvious forms, and leaves every option and --help to yargs', async () => {
    const { fastArgv } = await import('../src/cli/index.js')
    expect(fastArgv(['run', '--', 'python', 'train.py', '--lr', '1'])).toEqual({
      command: 'run',
      argv: { _: [], command: [], '--': ['python', 'train.py', '--lr', '1'] },
    })
    expect(fastArgv(['status'])).toEqual({ command: 'status', argv: { _: [], paths: undefined } })
    expect(fastArgv(['status', 'data', '--json'])).toEqual({ command: 'status', argv: { _: [], paths: ['data'], json: true } })
    expect(fastArgv(['add', 'a', 'b'])).toEqual({ command: 'add', argv: { _: [], paths: ['a', 'b'] } })
    expect(fastArgv(['push', 'origin'])).toEqual({ command: 'push', argv: { _: [], args: ['origin'], data: true } })
    expect(fastArgv(['pull'])).toEqual({ command: 'pull', argv: { _: [], args: undefined, data: true } })
    expect(fastArgv(['checkout', 'data', '--json'])).toEqual({ command: 'checkout', argv: { _: [], paths: ['data'], json: true } })
    expect(fastArgv(['model', 'ls', '--json'])).toEqual({ command: 'model', handler: 'lsHandler', argv: { _: ['ls'], json: true } })
    for (const args of [
      ['add'],
      ['run', '-n', 'x', '--', 'true'],
      ['run', '--'],
      ['status', '--help'],
      ['add', '-h', 'x'],
      ['push', '-r', 's'],
      ['push', '--no-data'],
      ['pull', '--all-data'],
      ['checkout', '-f'],
      ['status', '--json', '--json'],
      ['show'],
      ['model', 'ls', '-a'],
      ['model', 'history', 'x'],
      [],
    ])
      expect(fastArgv(args), args.join(' ')).toBeNull()
  })

  it('gives the same results as the yargs path (forced with --debug) for add, status, run, push, pull, checkout and model ls', () => {
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    repo.write('data/x.csv', '1\n')
    const add = repo.xp(['add', 'data', '--json'])
    expect(add.code).toBe(0)
    expect(repo.xp(['add', 'data', '--json', '--debug']).stdout).toBe(add.stdout)
    repo.write('data/x.csv', '2\n')
    for (const args of [['status'], ['status', '--json'], ['status', 'data'], ['status', 'nope']]) {
      // (--debug adds a stack to an error: compare its first line)
      const head = (r: { code: number; stdout: string; stderr: string }) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr.split('\n')[0] })
      expect(head(repo.xp([...args, '--debug'])), args.join(' ')).toEqual(head(repo.xp(args)))
    }
    expect(repo.xp(['add', 'nope']).code).toBe(repo.xp(['add', 'nope', '--debug']).code)
    repo.git('tag', '-a', '-m', 'Registering artifact churn version v1.0.0', 'churn@v1.0.0', 'HEAD')
    for (const args of [
      ['model', 'ls'],
      ['model', 'ls', '--json'],
    ]) {
      const fast = repo.xp(args)
      expect(fast.stdout).toContain('churn')
      expect(repo.xp([...args, '--debug']), args.join(' ')).toEqual(fast)
    }
    const run = repo.xp(['run', '--', 'sh', '-c', 'echo "$@"', 'sh', '--x', '-y'])
    expect(run.stdout).toBe('--x -y\n')
    expect(repo.json(['show'])[0].command).toBe(`sh -c 'echo "$@"' sh --x -y`)
    // push, in a repository of its own (a status that hashed a changed file can leave the
    // stat cache ahead of the cache: the integrity work's to fix, not this test's)
    const p = new TestRepo({ files: { 'a.txt': 'a\n' } })
    p.write('data/x.csv', '1\n')
    expect(p.xp(['add', 'data']).code).toBe(0)
    expect(p.xp(['run', '--', 'true']).code).toBe(0)
    const bare = path.join(p.home, 'bare.git')
    p.git('init', '-q', '--bare', bare)
    // the working tree's data goes first (found while the remote's refs are listed)
    expect(p.xp(['push', bare]).stderr).toMatch(/XP_NO_DATA_REMOTE/)
    expect(p.xp(['remote', 'add', 'store', path.join(p.home, 'store'), '--default', '--create']).code).toBe(0)
    expect(p.xp(['push', bare]).stderr).toMatch(/1 run pushed.*uploaded/)
    expect(fs.readdirSync(path.join(p.home, 'store')).length).toBeGreaterThan(0)
    expect(p.xp(['push', bare, '--debug']).stderr).toMatch(/0 runs pushed, 1 up to date/)
    // pull and checkout (a fresh clone's two calls)
    p.git('add', '-A')
    p.git('commit', '-qm', 'data')
    const c = new TestRepo({ init: false })
    c.git('clone', '-q', p.path(), '.')
    expect(c.xp(['pull', bare]).stderr).toMatch(/1 run fetched.*1 data file written/)
    for (const args of [['pull', bare], ['checkout'], ['checkout', '--json'], ['checkout', 'data'], ['checkout', 'nope']]) {
      const head = (r: { code: number; stdout: string; stderr: string }) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr.split('\n')[0] })
      expect(head(c.xp([...args, '--debug'])), args.join(' ')).toEqual(head(c.xp(args)))
    }
    expect(c.read('data/x.csv')).toBe('1\n')
  })
})

describe('a no-op checkout answers as status does', () => {
  it('finds a folder right as its pointer says without a file-by-file check, and still catches every kind of change', () => {
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    for (let i = 0; i < 30; i++) repo.write(`data/d${i % 3}/f${i}.txt`, `file ${i}\n`)
    expect(repo.xp(['add', 'data']).code).toBe(0)
    const co = () => repo.xp(['checkout', '--json'])
    const json = (r: { stdout: string }) => JSON.parse(r.stdout)
    expect(json(co())).toEqual([expect.objectContaining({ path: 'data', written: 0, removed: 0, unchanged: 30 })])
    // a file edited, one added, one deleted: the same answers as before the fast path
    repo.write('data/d0/f0.txt', 'edited\n')
    const edited = co()
    expect(edited.code).not.toBe(0)
    expect(edited.stderr).toContain('XP_CHECKOUT_CONFLICT')
    expect(repo.read('data/d0/f0.txt')).toBe('edited\n')
    expect(json(repo.xp(['checkout', '--force', '--json']))).toEqual([expect.objectContaining({ written: 1, unchanged: 29 })])
    expect(repo.read('data/d0/f0.txt')).toBe('file 0\n')
    repo.write('data/d1/new.txt', 'new\n')
    expect(co().stderr).toContain('XP_CHECKOUT_CONFLICT')
    fs.rmSync(repo.path('data/d1/new.txt'))
    fs.rmSync(repo.path('data/d2/f2.txt'))
    expect(json(co())).toEqual([expect.objectContaining({ written: 1, removed: 0, unchanged: 29 })])
    expect(repo.read('data/d2/f2.txt')).toBe('file 2\n')
    // a mode alone: nothing to write, as before
    fs.chmodSync(repo.path('data/d0/f3.txt'), 0o444)
    expect(json(co())).toEqual([expect.objectContaining({ written: 0, removed: 0, unchanged: 30 })])
    // the folder replaced by a symlink to an identical copy outside: refused, never read as "right"
    const outside = tmpDir('xp-outside-')
    fs.cpSync(repo.path('data'), path.join(outside, 'data'), { recursive: true })
    fs.rmSync(repo.path('data'), { recursive: true })
    fs.symlinkSync(path.join(outside, 'data'), repo.path('data'))
    const linked = co()
    expect(linked.code).not.toBe(0)
    expect(fs.lstatSync(repo.path('data')).isSymbolicLink()).toBe(true)
  })
})

describe('flat params files without the yaml library', () => {
  it('reads exactly what the yaml library reads, and leaves everything unusual to it', async () => {
    const { flatYaml } = await import('../src/core/params.js')
    const { yaml } = await import('../src/core/yaml.js')
    const docs = [
      'lr: 0.1\n',
      '# training params\nlr: 1e-3\nepochs: 10\nseed: -4\nmodel: rf\nuse_gpu: false\npath: data/train.csv\nname: v1.2-beta_3\n\n',
      'a: 0\nb: 1.50\nc: 2E+3\n',
      'flag: yes\nmode: on\nx: nan\ny: inf\n',
    ]
    for (const d of docs) expect(flatYaml(d), d).toEqual(yaml().parse(d))
    // left to the library: nesting, lists, quotes, comments after values, YAML's other
    // spellings of numbers, booleans and null, duplicate keys, CRLF, tabs, a document marker
    const unusual = [
      'model:\n  depth: 3\n',
      'xs: [1, 2]\n',
      "a: 'x'\n",
      'a: 1 # c\n',
      'a: 007\n',
      'a: +1\n',
      'a: .5\n',
      'a: 1.\n',
      'a: 0x1f\n',
      'a: .inf\n',
      'a: True\n',
      'a: null\n',
      'a: ~\n',
      'a:\n',
      'a: 1\na: 2\n',
      'a: 1\r\n',
      'a:\t1\n',
      '---\na: 1\n',
      '__proto__: 1\n',
      'a: b: c\n',
      'a: x y\n',
      '',
    ]
    for (const d of unusual) expect(flatYaml(d), JSON.stringify(d)).toBeUndefined()
  })
})

describe('push walks the runs over one git process', () => {
  it('finds the data of runs in nested folders with one cat-file, and uploads it with the refs', () => {
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    repo.write('deep/er/still/data/x.csv', '1\n')
    expect(repo.xp(['add', 'deep/er/still/data']).code).toBe(0)
    expect(repo.xp(['remote', 'add', 'store', path.join(repo.home, 'store'), '--default', '--create']).code).toBe(0)
    repo.git('add', '-A')
    repo.git('commit', '-q', '-m', 'data')
    for (const n of ['one', 'two']) expect(repo.xp(['run', '-n', n, '--', 'true']).code).toBe(0)
    // the working tree moves on: only the runs' trees still name the first version
    repo.write('deep/er/still/data/x.csv', '2\n')
    expect(repo.xp(['add', 'deep/er/still/data']).code).toBe(0)
    const bare = path.join(repo.home, 'bare.git')
    repo.git('init', '-q', '--bare', bare)
    const g = gitLogger()
    const r = repo.xp(['push', bare], { env: { PATH: `${g.dir}:${repo.env.PATH}` } })
    expect(r.stderr).toMatch(/2 runs pushed.*4 objects uploaded/)
    expect(g.calls().filter((c) => c === 'cat-file')).toHaveLength(1)
    // both versions are on the data remote: the runs' and the working tree's
    const objects = fs.readdirSync(path.join(repo.home, 'store'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    expect(objects).toHaveLength(4)
  })
})

describe('push without a data remote', () => {
  it('lists refs from their files, asks the remote nothing first, counts from the push, and walks a run once', () => {
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    for (const n of ['one', 'two', 'three']) expect(repo.xp(['run', '-n', n, '--', 'true']).code).toBe(0)
    expect(repo.xp(['note', 'one', 'a note']).code).toBe(0)
    // some run refs packed, some loose, as after a `git gc` and more runs
    repo.git('pack-refs', '--all')
    expect(repo.xp(['run', '-n', 'four', '--', 'true']).code).toBe(0)
    const bare = path.join(repo.home, 'bare.git')
    repo.git('init', '-q', '--bare', bare)
    const g = gitLogger()
    const env = { env: { PATH: `${g.dir}:${repo.env.PATH}` } }
    const first = repo.xp(['push', '--json', bare], env)
    expect(JSON.parse(first.stdout)).toMatchObject({ runs: { pushed: 4, upToDate: 0 }, notes: 'pushed', data: null })
    expect(g.calls()).toEqual(['ls-files', 'cat-file', 'push'])
    expect(repo.git('--git-dir', bare, 'for-each-ref', '--format=%(refname)').trim().split('\n')).toHaveLength(5)
    // nothing new: the push says what was there; the runs' trees are not walked again
    fs.rmSync(g.log)
    const again = repo.xp(['push', '--json', bare], env)
    expect(JSON.parse(again.stdout)).toMatchObject({ runs: { pushed: 0, upToDate: 4 }, notes: 'up-to-date' })
    expect(g.calls()).toEqual(['ls-files', 'push'])
    // a new run is walked (and found to name no data) before it goes
    expect(repo.xp(['run', '-n', 'five', '--', 'true']).code).toBe(0)
    fs.rmSync(g.log)
    expect(repo.xp(['push', bare], env).stderr).toMatch(/1 run pushed, 4 up to date, notes up-to-date/)
    expect(g.calls()).toEqual(['ls-files', 'cat-file', 'push'])
  })

  it('a run whose data has nowhere to go still stops the push, whatever was walked before', () => {
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    expect(repo.xp(['run', '-n', 'plain', '--', 'true']).code).toBe(0)
    const bare = path.join(repo.home, 'bare.git')
    repo.git('init', '-q', '--bare', bare)
    expect(repo.xp(['push', bare]).code).toBe(0)
    repo.write('data/x.csv', '1\n')
    expect(repo.xp(['add', 'data']).code).toBe(0)
    repo.git('add', '-A')
    repo.git('commit', '-q', '-m', 'data')
    expect(repo.xp(['run', '-n', 'with-data', '--', 'true']).code).toBe(0)
    // the working tree's pointer alone is data that must go
    const r = repo.xp(['push', bare])
    expect(r.stderr).toMatch(/XP_NO_DATA_REMOTE/)
    expect(repo.git('--git-dir', bare, 'for-each-ref', '--format=%(refname)')).not.toMatch(/with-data/)
    expect(repo.xp(['push', '--no-data', bare]).stderr).toMatch(/1 run pushed, 1 up to date/)
  })
})

describe('run names and HEAD without a git process', () => {
  it('reads the names from the record index and HEAD from its ref file, and asks git when the index lacks a run', () => {
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    expect(repo.xp(['run', '-n', 'one', '--', 'true']).code).toBe(0)
    repo.git('pack-refs', '--all') // HEAD's branch and the run now packed
    const g = gitLogger()
    const env = { env: { PATH: `${g.dir}:${repo.env.PATH}` } }
    const taken = repo.xp(['run', '-n', 'one', '--', 'true'], env)
    expect(taken.stderr).toMatch(/XP_RUN_NAME_TAKEN/)
    expect(g.calls()).toEqual([])
    const two = repo.xp(['run', '--json', '-n', 'two', '--', 'true'], env)
    expect(JSON.parse(two.stdout).baseline).toBe(repo.git('rev-parse', 'HEAD').trim())
    expect(g.calls()).not.toContain('for-each-ref')
    // a run neither run-names nor the index knows (recorded by an older xp, pulled): git is asked
    const idx = path.join(repo.dir, '.git', 'xp', 'runs-v2.idx')
    const names = path.join(repo.dir, '.git', 'xp', 'run-names')
    expect(fs.readFileSync(names, 'utf8')).toMatch(/\tone\t\n.*\ttwo\t\n$/s)
    fs.rmSync(idx)
    fs.rmSync(names)
    fs.rmSync(g.log)
    expect(repo.xp(['run', '-n', 'two', '--', 'true'], env).stderr).toMatch(/XP_RUN_NAME_TAKEN/)
    expect(g.calls()).toEqual(['for-each-ref'])
    // git's listing wrote run-names whole: the next run asks no git
    fs.rmSync(g.log)
    expect(repo.xp(['run', '-n', 'one', '--', 'true'], env).stderr).toMatch(/XP_RUN_NAME_TAKEN/)
    expect(g.calls()).toEqual([])
    // without it, a listing having put the runs in the index, run-names is made from that: no git process
    fs.rmSync(names)
    repo.xp(['show'])
    fs.rmSync(g.log, { force: true })
    expect(repo.xp(['run', '-n', 'one', '--', 'true'], env).stderr).toMatch(/XP_RUN_NAME_TAKEN/)
    expect(g.calls()).toEqual([])
    expect(fs.readFileSync(names, 'utf8').split('\n').sort()).toEqual(
      [
        '',
        ...repo
          .git('for-each-ref', '--format=%(refname)', 'refs/xp/runs/')
          .trim()
          .split('\n')
          .map((r) => `${r}\t${JSON.parse(repo.xp(['show', '--json']).stdout).find((x: { ref: string }) => x.ref === r).name}\t`),
      ].sort(),
    )
    // the index a run adds to reads as the listing's own
    const shown = repo.xp(['show', '--json']).stdout
    fs.rmSync(idx)
    expect(repo.xp(['show', '--json']).stdout).toBe(shown)
  })
})

describe('run-names', () => {
  it('ignores a torn last line and starts the next append on a line of its own; drops dead lines once they outnumber the live', async () => {
    const { loadRunNames, saveRunNames, appendRunName } = await import('../src/core/runs/record-index.js')
    const dir = tmpDir()
    const file = path.join(dir, 'xp', 'run-names')
    appendRunName(dir, 'refs/xp/runs/a', 'one')
    fs.appendFileSync(file, 'refs/xp/runs/b\ttw') // a write cut short
    expect([...loadRunNames(dir).names]).toEqual([['refs/xp/runs/a', 'one']])
    appendRunName(dir, 'refs/xp/runs/c', 'three')
    expect([...loadRunNames(dir).names]).toEqual([
      ['refs/xp/runs/a', 'one'],
      ['refs/xp/runs/c', 'three'],
    ])
    // a name that would break a line (a crafted record) is kept as none
    appendRunName(dir, 'refs/xp/runs/d', 'x\ny')
    expect(loadRunNames(dir).names.get('refs/xp/runs/d')).toBe('')
    saveRunNames(
      loadRunNames(dir),
      Array.from({ length: 100 }, (_, i): [string, string] => [`refs/xp/runs/n${i}`, `n${i}`]),
    )
    expect(loadRunNames(dir).names.size).toBe(103)
    // the runs were deleted but c: the next save with the live refs rewrites the file
    saveRunNames(loadRunNames(dir), [['refs/xp/runs/e', 'five']], new Set(['refs/xp/runs/c', 'refs/xp/runs/e']))
    expect(fs.readFileSync(file, 'utf8')).toBe('refs/xp/runs/c\tthree\t\nrefs/xp/runs/e\tfive\t\n')
  })
})

describe('refs read from their files', () => {
  it('gives what git for-each-ref gives: loose, packed, a loose ref over its packed line; null where git must say', async () => {
    const { readRefFiles, noRefFiles, refNames, readRefFile } = await import('../src/core/ref-files.js')
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    const head = repo.git('rev-parse', 'HEAD').trim()
    repo.write('b.txt', 'b\n')
    repo.git('add', '-A')
    repo.git('commit', '-q', '-m', 'b')
    const next = repo.git('rev-parse', 'HEAD').trim()
    for (let i = 0; i < 5; i++) repo.git('update-ref', `refs/xp/runs/0000000000000000000${i}`, head)
    repo.git('pack-refs', '--all')
    repo.git('update-ref', 'refs/xp/runs/00000000000000000002', next) // loose now, over its packed line
    repo.git('update-ref', '-d', 'refs/xp/runs/00000000000000000003')
    repo.git('update-ref', 'refs/xp/runs/00000000000000000009', next)
    repo.git('update-ref', 'refs/notes/xp', next)
    const common = path.join(repo.dir, '.git')
    const files = readRefFiles(common, {}, 'refs/xp/runs/', ['refs/notes/xp', 'refs/heads/main'])
    const git = repo
      .git('for-each-ref', '--format=%(refname) %(objectname)', 'refs/xp/runs/', 'refs/notes/xp', 'refs/heads/main')
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string])
    expect(new Map([...files!].sort())).toEqual(new Map(git.sort()))
    // the names alone, from the folder's listing and packed-refs
    expect([...refNames(common, {}, 'refs/xp/runs/')!].sort()).toEqual(
      git
        .map(([r]) => r)
        .filter((r) => r.startsWith('refs/xp/runs/'))
        .sort(),
    )
    // noRefFiles asks for the first alone: one name, loose or packed
    expect(refNames(common, {}, 'refs/xp/runs/', { first: true })!.size).toBe(1)
    expect(readRefFile(common, {}, 'refs/heads/main')).toBe(next)
    expect(readRefFile(common, {}, 'refs/heads/none')).toBe(null)
    expect(noRefFiles(common, {}, 'refs/tags/')).toBe(true)
    repo.git('tag', 'v1')
    expect(noRefFiles(common, {}, 'refs/tags/')).toBe(false)
    repo.git('pack-refs', '--all')
    expect(noRefFiles(common, {}, 'refs/tags/')).toBe(false)
    // a symbolic ref, or GIT_DIR in the environment: git decides
    repo.git('symbolic-ref', 'refs/xp/runs/00000000000000000007', 'refs/heads/main')
    expect(readRefFiles(common, {}, 'refs/xp/runs/')).toBeNull()
    expect(readRefFiles(common, { GIT_DIR: common }, 'refs/notes/')).toBeNull()
  })
})

describe('objects written in-process in a shared repository', () => {
  it("makes each new object folder as git would there: the group's to write into", async () => {
    const { writeObject } = await import('../src/core/runs/git-objects.js')
    const repo = new TestRepo({ init: false })
    repo.git('init', '-q', '-b', 'main', '--shared=group')
    const objects = path.join(repo.dir, '.git', 'objects')
    const before = new Set(fs.readdirSync(objects))
    // (an MLflow client's run records its series and tree this way)
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push(writeObject(path.join(repo.dir, '.git'), 'sha1', 'blob', Buffer.from(`series ${i}\n`)))
    const made = fs.readdirSync(objects).filter((d) => !before.has(d))
    expect(made.length).toBeGreaterThan(0)
    expect(made.filter((d) => (fs.statSync(path.join(objects, d)).mode & 0o070) !== 0o070)).toEqual([])
    expect(repo.git('cat-file', '-p', ids[7]!)).toBe('series 7\n')
  })
})

describe('a cold model ls while a tag arrives', () => {
  it('lists from the full listing alone when the two listings disagree (a tag landed between them)', () => {
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    for (const [name, v] of [
      ['churn', 'v1.0.0'],
      ['ranker', 'v0.1.0'],
    ])
      repo.git('tag', '-a', `${name}@${v}`, '-m', `Registering artifact ${name} version ${v}`)
    // a git whose full listing (the one that reads the tag objects) first waits, then sees a
    // tag made meanwhile, as a `git fetch` landing one would: the plain listing lacks it
    const dir = tmpDir('xp-racegit-')
    const real = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim()
    fs.writeFileSync(
      path.join(dir, 'git'),
      `#!/bin/sh\ncase "$*" in *for-each-ref*taggerdate*) sleep 0.3; '${real}' tag -a 'scorer@v2.0.0' -m 'Registering artifact scorer version v2.0.0' HEAD 2>/dev/null ;; esac\nexec '${real}' "$@"\n`,
      { mode: 0o755 },
    )
    const env = { env: { PATH: `${dir}:${repo.env.PATH}` } }
    expect(fs.existsSync(path.join(repo.dir, '.xp', 'registry-tags.txt'))).toBe(false) // cold: no tag index yet
    const cold = JSON.parse(repo.xp(['model', 'ls', '--json'], env).stdout)
    expect(Object.keys(cold).sort()).toEqual(['churn', 'ranker', 'scorer'])
    // what it listed is what a warm listing (the index it left) lists
    expect(fs.existsSync(path.join(repo.dir, '.xp', 'registry-tags.txt'))).toBe(true)
    expect(JSON.parse(repo.xp(['model', 'ls', '--json']).stdout)).toEqual(cold)
  })
})
