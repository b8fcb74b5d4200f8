// `npm run demo`: xp's main job on the bundled example, in a fresh temporary folder.
// Each step prints the command as a user would type it, then runs the real CLI.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
// XP_BIN=dist/xp-linux-x64 npm run demo: the same steps with the single executable
const exe = process.env.XP_BIN ? path.resolve(process.env.XP_BIN) : undefined
const xpBin = path.join(root, 'bin', 'xp.cjs')
if (!exe) {
  // the checkout's bundle, built again when the sources changed since
  const { buildAll, inputsId } = await import('./build.mjs')
  const built = fs.existsSync(path.join(root, 'dist', 'build-id')) ? fs.readFileSync(path.join(root, 'dist', 'build-id'), 'utf8').trim() : ''
  if (built !== inputsId()) await buildAll(path.join(root, 'dist'))
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-demo-'))
const project = path.join(work, 'churn')
fs.cpSync(path.join(root, 'fixtures', 'demo'), project, { recursive: true })
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? 'Demo User',
  GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? 'demo@example.com',
  GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? 'Demo User',
  GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? 'demo@example.com',
}
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[22m` : s)

function sh(cmd, args, { quiet = false, cwd = project } = {}) {
  if (!quiet) console.log(bold(`\n$ ${[cmd, ...args].map((a) => (/[\s"']/.test(a) ? `'${a}'` : a)).join(' ')}`))
  const r = spawnSync(cmd === 'xp' ? (exe ?? process.execPath) : cmd, cmd === 'xp' ? (exe ? args : [xpBin, ...args]) : args, {
    cwd,
    env,
    stdio: quiet ? 'pipe' : 'inherit',
    encoding: 'utf8',
  })
  if (r.status !== 0) {
    console.error(`demo: "${cmd} ${args.join(' ')}" exited ${r.status}${quiet ? `\n${r.stderr}` : ''}`)
    process.exit(1)
  }
  return r.stdout
}
const xp = (...args) => sh('xp', args)
const xpJson = (...args) => JSON.parse(sh('xp', [...args, '--json'], { quiet: true }))
const say = (text) => console.log(`\n# ${text}`)

say(`A small churn model in ${project}: a training script, params.yaml and a CSV.`)
sh('git', ['init', '-q', '-b', 'main'])
xp('init')

say('Version the data with xp, not git: the bytes go to the cache, a small pointer goes to git.')
xp('add', 'data')
sh('cat', ['data.xp'])
sh('git', ['add', '-A'], { quiet: true })
sh('git', ['commit', '-q', '-m', 'churn model'], { quiet: true })

say('Three experiments. Each is a commit on refs/xp/runs/; your branch, index and HEAD stay as they are.')
xp('run', '-n', 'baseline')
xp('run', '-n', 'lr-0.2', '-S', 'train.lr=0.2')
xp('run', '-n', 'lr-0.5-long', '-S', 'train.lr=0.5', '-S', 'train.epochs=80')
sh('git', ['checkout', '-q', '--', 'params.yaml'], { quiet: true })

say('A sweep: four runs queued, then run two at a time in temporary worktrees (params.yaml here is never touched).')
xp('run', '--queue', '-n', 'sweep', '-S', 'train.lr=0.05,0.2', '-S', 'model.l2=0.001,0.01')
xp('queue', 'start', '-j', '2')

say('Which run was best?')
xp('show', '--sort-by', 'loss', '--asc')
const runs = xpJson('show', '--sort-by', 'metrics.loss', '--asc')
const best = runs[0]
xp('diff', 'baseline', best.name)
xp('note', best.name, 'lowest validation loss')

say("Register the best run's model and promote it to production: annotated git tags in GTO's format.")
xp('model', 'register', 'churn', best.name)
xp('model', 'promote', 'churn', best.name, '--stage', 'production')
xp('model', 'ls')
xp('model', 'get', 'churn@production', '-o', 'deploy/model.json')

say('Share: runs, notes and tags go to a git remote, the data to a data remote (here two local folders).')
const bare = path.join(work, 'origin.git')
const storage = path.join(work, 'storage')
sh('git', ['init', '-q', '--bare', '-b', 'main', bare], { quiet: true })
sh('git', ['remote', 'add', 'origin', bare])
xp('remote', 'add', 'storage', storage, '--default', '--create')
sh('git', ['commit', '-q', '-am', 'data remote'], { quiet: true })
sh('git', ['push', '-q', 'origin', 'main'])
xp('push')

say('A teammate clones the project and pulls the runs and data.')
const clone = path.join(work, 'teammate')
sh('git', ['clone', '-q', bare, clone], { cwd: work })
sh('xp', ['pull'], { cwd: clone })
sh('xp', ['show', '-n', '3'], { cwd: clone })
sh('xp', ['model', 'which', 'churn@production'], { cwd: clone })

say("A report for a pull request: the runs' curves, metrics and params in one self-contained HTML file.")
xp('plots', '-o', 'report.html')

say('Nothing here is hidden: it is all plain git.')
console.log(`  cd ${project}`)
console.log('  git for-each-ref refs/xp/runs/              # one ref per run')
console.log(`  git log -1 ${best.ref}     # the run record is the commit message`)
console.log(`  git show ${best.ref}:.xp-run/output.log     # what it printed`)
console.log(`  git diff HEAD ${best.ref} -- params.yaml    # what it changed`)
console.log('  git tag -n                                   # the registry')
console.log(`  open report.html, or browse every run with: xp ui`)
