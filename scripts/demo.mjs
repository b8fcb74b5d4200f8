// `npm run demo`: xp's main job on the bundled example, in a fresh temporary folder.
// Each step prints the command as a user would type it, then runs the real CLI.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const xpBin = path.join(root, 'bin', 'xp.js')
if (!fs.existsSync(path.join(root, 'dist', 'bin.js'))) spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' })

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
  const r = spawnSync(cmd === 'xp' ? process.execPath : cmd, cmd === 'xp' ? [xpBin, ...args] : args, { cwd, env, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' })
  if (r.status !== 0) {
    console.error(`demo: "${cmd} ${args.join(' ')}" exited ${r.status}${quiet ? `\n${r.stderr}` : ''}`)
    process.exit(1)
  }
  return r.stdout
}
const xp = (...args) => sh('xp', args)
const xpJson = (...args) => JSON.parse(sh('xp', [...args, '--json'], { quiet: true }))
const say = (text) => console.log(`\n# ${text}`)

say(`A small churn model in ${project}: a git repo with a training script, params.yaml and a CSV.`)
sh('git', ['init', '-q', '-b', 'main'])
sh('git', ['add', '-A'], { quiet: true })
sh('git', ['commit', '-q', '-m', 'churn model'], { quiet: true })
xp('init')

say('Three experiments. Each is recorded as a commit on refs/xp/runs/; your branch and index stay as they are.')
xp('run', '-n', 'baseline')
xp('run', '-n', 'lr-0.2', '-S', 'train.lr=0.2')
xp('run', '-n', 'lr-0.5-long', '-S', 'train.lr=0.5', '-S', 'train.epochs=80')
sh('git', ['checkout', '-q', '--', 'params.yaml'], { quiet: true })

say('Which run was best?')
xp('show')
const runs = xpJson('show', '--sort-by', 'metrics.loss', '--asc')
const best = runs[0]
xp('diff', runs.find((r) => r.name === 'baseline').name, best.name)

say('Nothing here is hidden: runs are plain git objects.')
console.log(`  cd ${project}`)
console.log('  git for-each-ref refs/xp/runs/            # one ref per run')
console.log(`  git log -1 ${best.ref}   # the run record is the commit message`)
console.log(`  git show ${best.ref}:.xp-run/output.log   # the output it printed`)
console.log(`  git diff HEAD ${best.ref} -- params.yaml  # what it changed`)
