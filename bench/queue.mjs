// Benchmark of the run queue (issue 6), run against the built CLI:
//   1. overhead per task (worktree setup and teardown, recording) in a repo of 1,000 files
//   2. a CPU-bound grid of 8 tasks at -j 2 against -j 1 (throughput ratio)
//   3. `xp queue status` with 1,000 queued tasks
// Prints figures beside their floors and peers; never fails on time.
// Usage: node scripts/build.mjs && node bench/queue.mjs [--tasks 8] [--work-ms 1500]
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const XP = path.resolve(import.meta.dirname, '..', 'bin', 'xp.cjs')
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const TASKS = arg('--tasks', 8)
const WORK_MS = arg('--work-ms', 1500)

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-queue-'))
const env = {
  PATH: process.env.PATH,
  HOME: base,
  GIT_CONFIG_NOSYSTEM: '1',
  NO_COLOR: '1',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
}

function sh(cwd, cmd, args) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 1 << 28 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}
const xp = (cwd, ...args) => sh(cwd, process.execPath, [XP, ...args])
// CPU seconds of finished children (and their children), from /proc/self/stat (Linux):
// on a shared machine wall time says as much about the neighbours as about xp.
function childCpu() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[13]) + Number(f[14])) / 100
  } catch {
    return NaN
  }
}
let lastCpu = 0
function time(f) {
  const c = childCpu()
  const t = process.hrtime.bigint()
  f()
  lastCpu = childCpu() - c
  return Number(process.hrtime.bigint() - t) / 1e9
}
const cpuNote = (n = 1) => (Number.isNaN(lastCpu) ? '' : `, CPU ${(lastCpu / n).toFixed(3)} s`)

function repo(name, files) {
  const dir = path.join(base, name)
  fs.mkdirSync(dir)
  sh(dir, 'git', ['init', '-q', '-b', 'main'])
  for (let i = 0; i < files; i++) {
    fs.mkdirSync(path.join(dir, 'src', `d${i % 25}`), { recursive: true })
    fs.writeFileSync(path.join(dir, 'src', `d${i % 25}`, `f${i}.txt`), `file ${i}\n`.repeat(20))
  }
  fs.writeFileSync(path.join(dir, 'params.yaml'), 'seed: 0\n')
  // a CPU-bound "training": spin for WORK_MS of CPU time
  fs.writeFileSync(
    path.join(dir, 'work.js'),
    `const ms = Number(process.argv[2]); const t = process.cpuUsage(); let x = 0; while ((process.cpuUsage(t).user / 1000) < ms) { for (let i = 0; i < 1e5; i++) x += Math.sqrt(i) } require('fs').writeFileSync('metrics.json', JSON.stringify({ x: x % 7 }))\n`,
  )
  fs.writeFileSync(path.join(dir, 'xp.yaml'), 'metrics: [metrics.json]\n')
  fs.writeFileSync(path.join(dir, '.gitignore'), 'metrics.json\n')
  sh(dir, 'git', ['add', '-A'])
  sh(dir, 'git', ['commit', '-q', '-m', 'initial'])
  return dir
}

const rows = []
try {
  // 1. overhead per task: a trivial command, so what is measured is xp's part
  const big = repo('big', 1000)
  xp(big, 'run', '--queue', '-n', 'o', '-S', `seed=range(0, ${TASKS})`, '--', 'true')
  const queueOverhead = time(() => xp(big, 'queue', 'start', '-j', '1')) / TASKS
  const queueCpu = cpuNote(TASKS)
  xp(big, 'run', '--queue', '-n', 'r', '-S', `seed=range(0, ${TASKS})`, '--', 'true')
  const reuseOverhead = time(() => xp(big, 'queue', 'start', '-j', '1', '--reuse-worktrees')) / TASKS
  const reuseCpu = cpuNote(TASKS)
  const direct = time(() => xp(big, 'run', '-n', 'direct', '--', 'true'))
  const directCpu = cpuNote()
  // the peer inside the figure: what git alone takes to check out and remove 1,000 files
  const wt =
    time(() => {
      for (let i = 0; i < TASKS; i++) {
        sh(big, 'git', ['worktree', 'add', '-q', '--detach', path.join(base, 'wt'), 'HEAD'])
        sh(big, 'git', ['worktree', 'remove', '--force', path.join(base, 'wt')])
      }
    }) / TASKS
  const wtCpu = cpuNote(TASKS)
  rows.push([
    `overhead per task, 1,000 files (-j 1, \`true\`), a worktree per task`,
    `${queueOverhead.toFixed(3)} s${queueCpu}`,
    '< 0.5 s',
    `git worktree add + remove alone: ${wt.toFixed(3)} s${wtCpu}; dvc exp run: 1.73 s`,
  ])
  rows.push([
    `same, --reuse-worktrees`,
    `${reuseOverhead.toFixed(3)} s${reuseCpu}`,
    '< 0.5 s',
    `xp run -- true (no worktree): ${direct.toFixed(3)} s${directCpu}`,
  ])

  // 2. throughput of a CPU-bound grid
  const cpu = repo('cpu', 10)
  const grid = (j) => {
    xp(cpu, 'queue', 'clear')
    xp(cpu, 'run', '--queue', '-n', `cpu-j${j}`, '-S', `seed=range(0, ${TASKS})`, '--', 'node', 'work.js', String(WORK_MS))
    return time(() => xp(cpu, 'queue', 'start', '-j', String(j)))
  }
  const t1 = grid(1)
  const load1 = os.loadavg()[0]
  const t2 = grid(2)
  rows.push([`CPU-bound grid, ${TASKS} tasks of ${WORK_MS} ms CPU: -j 1`, `${t1.toFixed(2)} s`, '', `floor ${((TASKS * WORK_MS) / 1000).toFixed(1)} s of CPU`])
  rows.push([`same grid at -j 2`, `${t2.toFixed(2)} s`, '', `floor ${((TASKS * WORK_MS) / 2000).toFixed(1)} s on 2 free cores`])
  rows.push([
    'throughput -j 2 / -j 1',
    `${(t1 / t2).toFixed(2)}x`,
    '>= 1.7x',
    `load average ${load1.toFixed(1)} / ${os.loadavg()[0].toFixed(1)} after each (2 cores, shared)`,
  ])

  // 3. status with 1,000 queued tasks
  const many = repo('many', 10)
  const queue1000 = time(() => xp(many, 'run', '--queue', '-n', 'm', '-S', 'seed=range(0, 1000)', '--', 'true'))
  const queueCpu1000 = cpuNote()
  const best = (args) => {
    let bestT = Infinity
    let bestCpu = ''
    for (let i = 0; i < 3; i++) {
      const t = time(() => xp(many, ...args))
      if (t < bestT) [bestT, bestCpu] = [t, cpuNote()]
    }
    return `${bestT.toFixed(3)} s${bestCpu}`
  }
  const statusT = best(['queue', 'status'])
  const statusJ = best(['queue', 'status', '--json'])
  const help = best(['--help'])
  rows.push(['queue 1,000 tasks (xp run --queue, one grid)', `${queue1000.toFixed(3)} s${queueCpu1000}`, '', ''])
  rows.push(['xp queue status, 1,000 queued (best of 3)', statusT, '< 0.5 s', `xp --help (startup): ${help}; dvc queue status, 200 jobs: minutes (issue)`])
  rows.push(['xp queue status --json, 1,000 queued', statusJ, '< 0.5 s', ''])
} finally {
  fs.rmSync(base, { recursive: true, force: true })
}

const header = ['measure', 'xp', 'floor', 'peer / note']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
const line = (r) =>
  r
    .map((c, i) => c.padEnd(widths[i]))
    .join('  ')
    .trimEnd()
console.log(line(header))
console.log(widths.map((w) => '-'.repeat(w)).join('  '))
for (const r of rows) console.log(line(r))
