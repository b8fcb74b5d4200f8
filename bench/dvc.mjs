// Benchmark `xp import dvc` over the 200 experiments of the real DVC 3.28 sample
// (fixtures/dvc/dvc-exps-201.bundle; issue 20: under 2 s). Each repeat imports into a fresh
// clone. Beside it: the floor (node start + `git for-each-ref` of the experiments + one
// `git cat-file --batch` of their params.yaml and metrics.json) and the peer figure of
// docs/architecture.md#decisions-and-their-measurements (`dvc exp show` over 200 experiments: 6.1 s cold, 1.7 s warm, on this machine
// kind). Runs the built CLI; never fails on time.
//
//   node bench/dvc.mjs      (XP_BENCH_REPEAT=N times, default 5)
import { spawnSync, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { benchEnv } from './lib/fake-runs.mjs'

const ROOT = path.resolve(import.meta.dirname, '..')
const XP = path.join(ROOT, 'bin', 'xp.cjs')
const BUNDLE = path.join(ROOT, 'fixtures', 'dvc', 'dvc-exps-201.bundle')
const REPEAT = Number(process.env.XP_BENCH_REPEAT ?? 5)

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-dvc-'))
const env = benchEnv(base)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const time = (fn) => {
  const t = performance.now()
  fn()
  return (performance.now() - t) / 1000
}

function clone(i) {
  const dir = path.join(base, `r${i}`)
  execFileSync('git', ['clone', '-q', BUNDLE, dir], { env })
  execFileSync('git', ['fetch', '-q', BUNDLE, 'refs/exps/*:refs/exps/*'], { cwd: dir, env })
  return dir
}

const importS = []
const againS = []
const floorS = []
for (let i = 0; i < REPEAT; i++) {
  const dir = clone(i)
  floorS.push(
    time(() => {
      spawnSync(process.execPath, ['-e', '0'])
      const refs = execFileSync('git', ['for-each-ref', '--format=%(objectname)', 'refs/exps/'], { cwd: dir, env, encoding: 'utf8' }).trim().split('\n')
      execFileSync('git', ['cat-file', '--batch'], {
        cwd: dir,
        env,
        input: refs.flatMap((r) => [`${r}:params.yaml`, `${r}:metrics.json`]).join('\n') + '\n',
        maxBuffer: 1 << 28,
      })
    }),
  )
  let out = ''
  importS.push(time(() => (out = execFileSync(process.execPath, [XP, 'import', 'dvc', '--all', '--json'], { cwd: dir, env, encoding: 'utf8' }))))
  const n = JSON.parse(out).imported.length
  if (n !== 200) console.log(`(expected 200 imported runs, got ${n})`)
  againS.push(time(() => execFileSync(process.execPath, [XP, 'import', 'dvc', '--all'], { cwd: dir, env, stdio: 'ignore' })))
}
fs.rmSync(base, { recursive: true, force: true })

const row = (what, s, note) => console.log(`${what.padEnd(44)} ${s.toFixed(2).padStart(6)} s  ${note}`)
console.log(`xp import dvc, 200 DVC 3.28 experiments (median of ${REPEAT}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)})`)
row('xp import dvc --all (first: 200 runs)', median(importS), 'target < 2 s')
row('xp import dvc --all (again: nothing to do)', median(againS), '')
row('floor: node + for-each-ref + cat-file', median(floorS), '')
row('peer: dvc exp show, 200 experiments', 1.7, 'warm (6.1 s cold), docs/architecture.md#decisions-and-their-measurements; shows them, imports nothing')
