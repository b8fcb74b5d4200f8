// What system-metric sampling (src/core/runs/sysmon.ts) costs a CPU-bound command (issue 17:
// under 1% over 60 s). Three figures:
//  1. the sampler's own CPU time per sample (a tree of 3 processes, /proc read and a line written);
//  2. over a CPU-bound command of BENCH_SECONDS (default 60), the sampler's CPU time (this
//     process does nothing else) against the command's, at the default 5 s and at 1 s, with
//     the nvidia-smi stand-in of the tests on PATH so the GPU path runs too;
//  3. `xp run` of a fixed amount of work with sampling on (5 s) and off, alternated
//     (BENCH_REPEAT pairs, default 3): wall time, median. On a shared machine this one is
//     noisier than the effect it looks for; figure 2 is the measurement.
// Never fails on time.
//
//   node bench/sysmon.mjs
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { build } from 'esbuild'

const ROOT = path.resolve(import.meta.dirname, '..')
const XP = path.join(ROOT, 'bin', 'xp.cjs')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60)
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-sysmon-'))
const env = {
  ...process.env,
  PATH: `${path.join(ROOT, 'test', 'fake-bin')}:${process.env.PATH}`,
  HOME: dir,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@b',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@b',
}

// the sampler itself, bundled from the sources
const mod = path.join(dir, 'sysmon.mjs')
await build({ entryPoints: [path.join(ROOT, 'src/core/runs/sysmon.ts')], bundle: true, platform: 'node', format: 'esm', outfile: mod, logLevel: 'warning' })
const { startSysMonitor, processTree } = await import(mod)

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

// burns for s seconds, then prints its own CPU time (ms)
const burnFor = (s) =>
  `const t = Date.now(); let x = 0; while (Date.now() - t < ${s * 1000}) x++; const u = process.cpuUsage(); console.log((u.user + u.system) / 1000)`
const rows = []

// 1. cost of one sample
{
  const kid = spawn('sh', ['-c', `${process.execPath} -e "setTimeout(()=>{},60000)" & ${process.execPath} -e "setTimeout(()=>{},60000)"; wait`], {
    stdio: 'ignore',
  })
  await new Promise((r) => setTimeout(r, 500))
  const n = 500
  const c0 = cpuMs()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) processTree(kid.pid)
  const per = (performance.now() - t0) / n
  const perCpu = (cpuMs() - c0) / n
  rows.push(['one sample: read /proc for a 3-process tree', `${per.toFixed(3)} ms wall, ${perCpu.toFixed(3)} ms CPU`, '', ''])
  spawnSync('pkill', ['-P', String(kid.pid)])
  kid.kill()
}

// 2. a CPU-bound command of SECONDS, sampled every 5 s and every 1 s
for (const interval of [5, 1]) {
  const file = path.join(dir, `system-${interval}.jsonl`)
  const kid = spawn(process.execPath, ['-e', burnFor(SECONDS)], { stdio: ['ignore', 'pipe', 'ignore'] })
  let printed = ''
  kid.stdout.on('data', (d) => (printed += d))
  const t0 = performance.now()
  const mon = startSysMonitor({ pid: kid.pid, intervalS: interval, file, env })
  // the one spawn of nvidia-smi is paid once per run, not per sample: left out of the loop's figure
  const c0 = cpuMs()
  await new Promise((r) => kid.once('close', r))
  const own = cpuMs() - c0
  await mon.stop()
  const wall = performance.now() - t0
  const kidCpu = Number(printed.trim())
  const samples = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').length : 0
  rows.push([
    `${SECONDS} s CPU-bound command, every ${interval} s (${samples} samples, GPU stand-in on)`,
    `sampler ${own.toFixed(0)} ms CPU in ${(wall / 1000).toFixed(0)} s`,
    `${((own / wall) * 100).toFixed(3)}% of a core; ${((own / kidCpu) * 100).toFixed(3)}% of the command's ${(kidCpu / 1000).toFixed(1)} s CPU`,
    '< 1%',
  ])
}

// 3. `xp run` of fixed work, sampling on and off, alternated
{
  const repo = path.join(dir, 'repo')
  fs.mkdirSync(repo)
  const git = (...a) => spawnSync('git', a, { cwd: repo, env })
  git('init', '-q', '-b', 'main')
  fs.writeFileSync(path.join(repo, 'work.js'), 'let x = 0; for (let i = 0; i < 1.5e9; i++) x += i & 1; console.log(x)\n')
  git('add', '-A')
  git('commit', '-qm', 'work')
  const times = { on: [], off: [] }
  for (let i = 0; i < REPEAT; i++)
    for (const mode of ['off', 'on']) {
      fs.writeFileSync(path.join(repo, 'xp.yaml'), mode === 'on' ? 'system_metrics: {interval: 5}\n' : 'system_metrics: false\n')
      const t = performance.now()
      const r = spawnSync(process.execPath, [XP, 'run', '--', process.execPath, 'work.js'], { cwd: repo, env, stdio: 'ignore' })
      if (r.status !== 0) throw new Error('xp run failed')
      times[mode].push((performance.now() - t) / 1000)
    }
  const on = median(times.on)
  const off = median(times.off)
  rows.push([
    `xp run of fixed work (${REPEAT} pairs, median)`,
    `on ${on.toFixed(2)} s, off ${off.toFixed(2)} s`,
    `${(((on - off) / off) * 100).toFixed(2)}%`,
    'noise of a shared machine',
  ])
}

const load = os.loadavg()[0].toFixed(1)
console.log(`\nSystem-metric sampling (2 cores shared, load average ${load})\n`)
console.log('| figure | measured | overhead | target |')
console.log('| --- | --- | --- | --- |')
for (const r of rows) console.log(`| ${r.join(' | ')} |`)
fs.rmSync(dir, { recursive: true, force: true })
