// Benchmark of the core loop (issue 2): `xp run -- true` in a repo of 1,000 files against
// `git add -A && git commit` of the same change in a copy, and `xp --help` start-up.
// Prints figures beside their floor and peer; never fails on time.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const xpBin = path.join(root, 'bin', 'xp.cjs')
const N = Number(process.env.BENCH_REPEAT ?? 9)
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-run-'))
const env = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: work,
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@b',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@b',
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
}
function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
/**
 * @param {(i: number) => void} fn
 * @param {(i: number) => void} [before]
 */
function time(fn, before = () => {}) {
  const xs = []
  for (let i = 0; i < N; i++) {
    before(i)
    const t = process.hrtime.bigint()
    fn(i)
    xs.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return median(xs)
}

function makeRepo(dir) {
  fs.mkdirSync(dir, { recursive: true })
  for (let i = 0; i < 1000; i++) {
    const sub = path.join(dir, 'src', `m${i % 20}`)
    fs.mkdirSync(sub, { recursive: true })
    fs.writeFileSync(path.join(sub, `f${i}.py`), `# file ${i}\n` + 'x = 1\n'.repeat(50))
  }
  fs.writeFileSync(path.join(dir, 'params.yaml'), 'lr: 0.1\n')
  run('git', ['init', '-q', '-b', 'main'], dir)
  run('git', ['add', '-A'], dir)
  run('git', ['commit', '-q', '-m', 'init'], dir)
}

const a = path.join(work, 'xp')
const b = path.join(work, 'git')
makeRepo(a)
makeRepo(b)
const change = (dir, i) => fs.writeFileSync(path.join(dir, 'src', 'm0', 'f0.py'), `# change ${i}\n`)

const rows = []
const nodeFloor = time(() => run(process.execPath, ['-e', '0'], work))
const gitCommit = time(
  () => run('sh', ['-c', 'git add -A && git commit -q -m change'], b),
  (i) => change(b, i),
)
const xpRun = time(
  () => run(process.execPath, [xpBin, 'run', '--', 'true'], a),
  (i) => change(a, i),
)
const help = time(() => run(process.execPath, [xpBin, '--help'], work))
rows.push(['xp run -- true (1,000 files)', xpRun, `git add -A && git commit: ${gitCommit.toFixed(0)} ms`, `${(xpRun / gitCommit).toFixed(2)}x (target <= 2x)`])
rows.push(['xp --help', help, `node -e 0: ${nodeFloor.toFixed(0)} ms`, `target < 250 ms`])

console.log(`\nbench/run.mjs  (median of ${N}, ${os.cpus().length} cores)\n`)
console.log('what'.padEnd(32) + 'xp ms'.padStart(8) + '   peer / floor'.padEnd(36) + 'ratio')
for (const [what, ms, peer, ratio] of rows) console.log(what.padEnd(32) + ms.toFixed(0).padStart(8) + '   ' + peer.padEnd(33) + ratio)
fs.rmSync(work, { recursive: true, force: true })
