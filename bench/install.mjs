// Benchmark xp as users install it (issue 19): the npm package's tarball size and the
// single executable's size, and the start-up of each beside the checkout's (`node
// bin/xp.js`) and the floor (`node -e 0`). Builds dist/ and dist/xp-linux-x64 first;
// never fails on time.
//
//   node bench/install.mjs      (XP_BENCH_REPEAT=N times each, default 15; the median is shown)
import { spawnSync, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { benchEnv } from './lib/fake-runs.mjs'

const ROOT = path.resolve(import.meta.dirname, '..')
const REPEAT = Number(process.env.XP_BENCH_REPEAT ?? 15)
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-install-'))
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts })
const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`

try {
  sh(process.execPath, ['scripts/build-binary.mjs']) // builds dist/ too
  const packed = JSON.parse(sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work]))[0]
  const tarball = path.join(work, packed.filename)
  const prefix = path.join(work, 'prefix')
  const t0 = performance.now()
  sh('npm', ['install', '-g', tarball, '--prefix', prefix, '--offline', '--no-audit', '--no-fund'])
  const installMs = performance.now() - t0
  const exe = path.join(ROOT, 'dist', 'xp-linux-x64')
  console.log(
    `tarball ${packed.filename}: ${mb(fs.statSync(tarball).size)} packed, ${mb(packed.unpackedSize)} unpacked, ${packed.entryCount} files; npm install -g from it: ${(installMs / 1000).toFixed(1)} s`,
  )
  console.log(`single executable dist/xp-linux-x64: ${mb(fs.statSync(exe).size)} (the node binary it is made from: ${mb(fs.statSync(process.execPath).size)})`)

  // a repository with one run, for `xp show`
  const repo = path.join(work, 'repo')
  fs.mkdirSync(repo)
  const env = benchEnv(repo)
  sh('git', ['init', '-q', '-b', 'main'], { cwd: repo, env })
  sh(process.execPath, [path.join(ROOT, 'bin', 'xp.cjs'), 'run', '-n', 'one', '--', 'true'], { cwd: repo, env, stdio: 'ignore' })

  // each round runs every way once, so a change in the machine's load hits them alike
  const time = (cmd, args) => {
    const t = performance.now()
    const r = spawnSync(cmd, args, { cwd: repo, env, stdio: 'ignore' })
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`)
    return performance.now() - t
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const ways = [
    { name: 'floor: node -e 0', cmd: process.execPath, pre: ['-e', '0'], floor: true },
    { name: 'checkout: node bin/xp.cjs', cmd: process.execPath, pre: [path.join(ROOT, 'bin', 'xp.cjs')] },
    { name: 'package: PREFIX/bin/xp', cmd: path.join(prefix, 'bin', 'xp'), pre: [] },
    { name: 'single executable', cmd: exe, pre: [] },
  ]
  const commands = ['--help', '--version', 'show']
  const times = ways.map(() => commands.map(() => []))
  for (let i = 0; i < REPEAT; i++)
    for (const [c, arg] of commands.entries()) for (const [w, way] of ways.entries()) times[w][c].push(time(way.cmd, way.floor ? way.pre : [...way.pre, arg]))
  console.log(`\nstart-up, median of ${REPEAT}, ms (--version runs git --version too; show lists one run)`)
  console.log(`${'how'.padEnd(28)} ${commands.map((c) => c.padStart(10)).join('')}`)
  for (const [w, way] of ways.entries()) console.log(`${way.name.padEnd(28)} ${times[w].map((t) => median(t).toFixed(0).padStart(10)).join('')}`)
} finally {
  fs.rmSync(work, { recursive: true, force: true })
}
