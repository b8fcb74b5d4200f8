// Benchmark of the queue's Slurm executor (issue 18) on a private one-node cluster
// (test/servers/slurm.ts), against the built CLI:
//   1. per-task overhead of the Slurm path over the local queue, for a trivial command
//      (N tasks of `true` at -j 2, wall time per task, submit to the last one recorded)
//   2. wall time of 16 one-second tasks at -j 2 (floor: 8 s plus Slurm's start latency)
// Completion is watched by reading the task files (no xp process per poll). Prints
// figures beside their floors; never fails on time.
// Usage: node scripts/build.mjs && node bench/slurm.mjs [--tasks 8]
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { build } from 'esbuild'
import { benchEnv } from './lib/fake-runs.mjs'

const ROOT = path.resolve(import.meta.dirname, '..')
const XP = path.join(ROOT, 'bin', 'xp.cjs')
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const TASKS = arg('--tasks', 8)

if (spawnSync('sh', ['-c', 'command -v slurmctld && command -v sbatch && command -v munged'], { stdio: 'ignore' }).status !== 0) {
  console.log('bench/slurm: Slurm is not installed (Debian: slurmctld slurmd slurm-client munge); skipped')
  process.exit(0)
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-slurm-'))
let env = benchEnv(path.join(work, 'home'))
fs.mkdirSync(env.HOME)

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 1 << 28 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}
const xp = (cwd, ...args) => run(process.execPath, [XP, ...args], cwd)

// the cluster helper is TypeScript: bundle it once for plain Node (node builtins only)
async function loadCluster() {
  const out = path.join(work, 'slurm-server.mjs')
  await build({ entryPoints: [path.join(ROOT, 'test', 'servers', 'slurm.ts')], bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'error' })
  return import(out)
}

function repo(name) {
  const dir = path.join(work, name)
  fs.mkdirSync(dir)
  run('git', ['init', '-q', '-b', 'main'], dir)
  fs.writeFileSync(path.join(dir, 'params.yaml'), 'seed: 0\n')
  run('git', ['add', '-A'], dir)
  run('git', ['commit', '-q', '-m', 'initial'], dir)
  return dir
}

/** Resolve when every task file says done/failed/cancelled; returns seconds since `t0`. */
async function allDone(dir, t0, timeoutS = 300) {
  const tasks = path.join(dir, '.xp', 'queue', 'tasks')
  for (;;) {
    const states = fs
      .readdirSync(tasks)
      .filter((f) => f.endsWith('.json'))
      .map((f) => {
        try {
          return JSON.parse(fs.readFileSync(path.join(tasks, f), 'utf8')).state
        } catch {
          return 'queued'
        }
      })
    if (states.every((s) => s !== 'queued' && s !== 'running')) {
      const failed = states.filter((s) => s !== 'done').length
      if (failed) throw new Error(`${failed} tasks did not succeed; see ${dir}/.xp/queue`)
      return (performance.now() - t0) / 1000
    }
    if ((performance.now() - t0) / 1000 > timeoutS) throw new Error(`tasks not done after ${timeoutS} s`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const rows = []
const { startSlurm } = await loadCluster()
const cluster = await startSlurm(path.join(work, 'cluster'))
env = { ...env, ...cluster.env }
try {
  // warm the scheduler: the first job after start is slower (1.8-2.6 s measured) than the rest
  const warm = repo('warm')
  xp(warm, 'run', '--queue', '-n', 'w', '--', 'true')
  let t0 = performance.now()
  xp(warm, 'queue', 'start', '--slurm')
  const first = await allDone(warm, t0)

  // 1. overhead per task: trivial command, -j 2, local queue against Slurm
  const local = repo('local')
  xp(local, 'run', '--queue', '-n', 'o', '-S', `seed=range(0, ${TASKS})`, '--', 'true')
  t0 = performance.now()
  xp(local, 'queue', 'start', '-j', '2')
  const localS = (performance.now() - t0) / 1000
  const slurm = repo('slurm')
  xp(slurm, 'run', '--queue', '-n', 'o', '-S', `seed=range(0, ${TASKS})`, '--', 'true')
  t0 = performance.now()
  xp(slurm, 'queue', 'start', '--slurm', '-j', '2')
  const submitS = (performance.now() - t0) / 1000
  const slurmS = await allDone(slurm, t0)
  rows.push([`${TASKS} trivial tasks at -j 2, per task: local queue`, `${(localS / TASKS).toFixed(2)} s`, '', ''])
  rows.push([
    `same on Slurm (submit ${submitS.toFixed(2)} s, first job of a fresh cluster ${first.toFixed(2)} s)`,
    `${(slurmS / TASKS).toFixed(2)} s`,
    '',
    `+${((slurmS - localS) / TASKS).toFixed(2)} s a task over local`,
  ])

  // 2. 16 one-second tasks at -j 2
  const sixteen = repo('sixteen')
  xp(sixteen, 'run', '--queue', '-n', 's', '-S', 'seed=range(0, 16)', '--', 'sleep', '1')
  t0 = performance.now()
  xp(sixteen, 'queue', 'start', '--slurm', '-j', '2')
  const s16 = await allDone(sixteen, t0)
  t0 = performance.now()
  const local16 = repo('local16')
  xp(local16, 'run', '--queue', '-n', 's', '-S', 'seed=range(0, 16)', '--', 'sleep', '1')
  t0 = performance.now()
  xp(local16, 'queue', 'start', '-j', '2')
  const l16 = (performance.now() - t0) / 1000
  // the peer: the same array with no xp in it, `sbatch --array=0-15%2 --wrap 'sleep 1'`
  t0 = performance.now()
  const bare = run('sbatch', ['--parsable', '--array=0-15%2', `--output=${path.join(work, 'bare-%A_%a.out')}`, '--wrap', 'sleep 1'], work).trim()
  for (;;) {
    const states = run('squeue', ['-h', '-r', '-t', 'all', `--jobs=${bare}`, '-o', '%T'], work)
      .trim()
      .split('\n')
    if (states.length === 16 && states.every((x) => x === 'COMPLETED')) break
    await new Promise((r) => setTimeout(r, 50))
  }
  const bareS = (performance.now() - t0) / 1000
  rows.push([
    '16 one-second tasks at -j 2 on Slurm',
    `${s16.toFixed(2)} s`,
    '8 s + start latency (< 1 s)',
    `bare Slurm array of \`sleep 1\`: ${bareS.toFixed(2)} s; local queue: ${l16.toFixed(2)} s`,
  ])
} finally {
  await cluster.stop()
  fs.rmSync(work, { recursive: true, force: true })
}

const load = os.loadavg()[0].toFixed(1)
console.log(`\nxp queue on Slurm (one-node cluster on this machine, ${os.cpus().length} cores, load ${load})\n`)
console.log('| measure | xp | floor | note |\n|---|---|---|---|')
for (const r of rows) console.log(`| ${r.join(' | ')} |`)
