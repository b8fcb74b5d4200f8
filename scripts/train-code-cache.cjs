// node scripts/train-code-cache.cjs DIR: the code caches DIR/bin.cjs starts DIR/xp.cjs from
// (src/cli/launch.ts), one per everyday command, made by running them.
//
// A start with no cache compiles the bundle and writes the cache of its command when it
// exits, holding the code V8 compiled for that command by then. So this runs each everyday
// command once through DIR/bin.cjs, in a scratch repository: init, add, status, run, show,
// diff, model, remote, push, pull, checkout. Any other command makes its own on first use.
// Run by scripts/build.mjs, which makes a failure a warning.
'use strict'
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const dir = path.resolve(process.argv[2])
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-train-'))
const env = {
  PATH: process.env.PATH,
  HOME: scratch,
  // a cache that cannot be written beside the bundle is not written for the build's user either
  XDG_CACHE_HOME: path.join(scratch, 'cache'),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'xp build',
  GIT_AUTHOR_EMAIL: 'build@xp.invalid',
  GIT_COMMITTER_NAME: 'xp build',
  GIT_COMMITTER_EMAIL: 'build@xp.invalid',
  NO_COLOR: '1',
}
const git = (cwd, ...args) => execFileSync('git', args, { cwd, env, stdio: 'pipe' })
const xp = (cwd, ...args) => execFileSync(process.execPath, [path.join(dir, 'bin.cjs'), ...args], { cwd, env, stdio: 'pipe' })

try {
  const repo = path.join(scratch, 'repo')
  fs.mkdirSync(path.join(repo, 'data'), { recursive: true })
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(repo, 'data', `f${i}.txt`), `file ${i}\n`.repeat(i + 1))
  fs.writeFileSync(path.join(repo, 'params.yaml'), 'lr: 0.1\ntrain:\n  epochs: 2\n')
  fs.writeFileSync(path.join(repo, 'train.sh'), 'echo \'{"acc": 0.9}\' > metrics.json\n')
  git(scratch, 'init', '-q', repo)
  xp(repo, 'init')
  xp(repo, 'add', 'data')
  xp(repo, 'status')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'start')
  xp(repo, 'run', '--', 'sh', 'train.sh')
  xp(repo, 'run', '--set', 'lr=0.2', '--', 'sh', 'train.sh') // the cache is made already; this one checks it
  xp(repo, 'show')
  xp(repo, 'diff')
  xp(repo, 'model', 'ls')
  fs.mkdirSync(path.join(scratch, 'store'))
  xp(repo, 'remote', 'add', 'store', path.join(scratch, 'store'), '--default')
  git(scratch, 'init', '-q', '--bare', 'origin.git')
  git(repo, 'remote', 'add', 'origin', path.join(scratch, 'origin.git'))
  xp(repo, 'push')
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'remote')
  git(repo, 'push', '-q', 'origin', 'HEAD:refs/heads/main')
  git(scratch, 'clone', '-q', '-b', 'main', path.join(scratch, 'origin.git'), 'clone')
  xp(path.join(scratch, 'clone'), 'pull')
  xp(path.join(scratch, 'clone'), 'checkout')
} catch (e) {
  process.stderr.write(`${e.message}\n${e.stderr ?? ''}`)
  process.exitCode = 1
} finally {
  fs.rmSync(scratch, { recursive: true, force: true })
}
