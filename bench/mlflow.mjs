// Benchmark xp ui's MLflow API against the real MLflow tracking server (sqlite), side by
// side, through MLflow's real Python client (bench/mlflow-load.py): N runs of
// runs/create + log-batch (5 params, 3 metrics x 100 steps) + runs/update, then a
// filtered, ordered search; then runs/search over 10,000 recorded runs (xp only).
// Goals (issue 14): xp >= 5x faster per run than MLflow+sqlite, search < 0.3 s, server RSS < 150 MB.
//
//   . /work/mlflow-env/env.sh && node bench/mlflow.mjs [N] [MLFLOW_DIR]
// N defaults to 1000 (XP_BENCH_MLFLOW_N for the real server alone, e.g. fewer on a slow machine);
// MLFLOW_DIR is the setup.sh folder of the real client and server (default /work/mlflow-env).
// Never fails on time.
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import http from 'node:http'
import { benchEnv, makeRunsRepo } from './lib/fake-runs.mjs'

const ROOT = path.resolve(import.meta.dirname, '..')
const XP = path.join(ROOT, 'bin', 'xp.cjs')
const N = Number(process.argv[2] ?? 1000)
const NM = Number(process.env.XP_BENCH_MLFLOW_N ?? N)
const MLDIR = process.argv[3] ?? '/work/mlflow-env'
const SHARED = process.env.XP_MLFLOW_SHARED ?? '/work/shared/mlflow'
const LOAD = path.join(ROOT, 'bench', 'mlflow-load.py')

const rssOf = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024
  } catch {
    return 0
  }
}
const tree = (pid) => {
  const out = [pid]
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const ppid = Number(/PPid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))[1])
      if (ppid === pid) out.push(...tree(Number(p)))
    } catch {}
  }
  return out
}
const rssTree = (pid) => tree(pid).reduce((s, p) => s + rssOf(p), 0)
/** CPU seconds of a process, its finished children and its children alive now. */
const cpuOf = (pid) => {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    // user + system, and the same of children it has waited for (the git processes xp spawns)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100
  } catch {
    return 0
  }
}
const cpuTree = (pid) => tree(pid).reduce((s, p) => s + cpuOf(p), 0)
/** The searches of the load, sent raw (no Python client): the server's own time. */
async function rawSearches(url, expName) {
  const get = await new Promise((resolve, reject) => {
    http
      .get(`${url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(expName)}`, (res) => {
        const c = []
        res.on('data', (d) => c.push(d))
        res.on('end', () => resolve(JSON.parse(Buffer.concat(c).toString())))
      })
      .on('error', reject)
  })
  const exp = get.experiment.experiment_id
  const out = []
  for (const [filter, order_by, max_results] of [
    ['metrics.acc > 0.5', ['metrics.acc DESC'], 1000],
    ["params.opt = 'adam' and metrics.loss < 0.5", ['attributes.start_time'], 100],
  ]) {
    const r = await post(url, '/api/2.0/mlflow/runs/search', { experiment_ids: [exp], filter, order_by, max_results, run_view_type: 'ACTIVE_ONLY' })
    out.push({ s: r.s, runs: r.json.runs?.length ?? 0 })
  }
  return out
}
const mb = (b) => `${(b / 1e6).toFixed(0)} MB`

function startXp(dir, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [XP, 'ui', '--port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const m = /http:\/\/\S+\//.exec(out)
      if (m) resolve({ child, url: m[0].replace(/\/$/, '') })
    })
    child.on('exit', (c) => reject(new Error(`xp ui exited ${c}`)))
  })
}

function load(url, n) {
  const r = spawnSync('/usr/bin/python3', [LOAD, String(n)], { env: { ...process.env, MLFLOW_TRACKING_URI: url }, encoding: 'utf8', maxBuffer: 1 << 26 })
  if (r.status !== 0) throw new Error(`load failed: ${r.stderr.slice(-2000)}`)
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

function post(url, p, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const data = JSON.stringify(body)
    const t0 = performance.now()
    const req = http.request(
      { host: u.hostname, port: u.port, path: p, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        const c = []
        res.on('data', (d) => c.push(d))
        res.on('end', () => resolve({ s: (performance.now() - t0) / 1000, json: JSON.parse(Buffer.concat(c).toString()) }))
      },
    )
    req.on('error', reject)
    req.end(data)
  })
}

const results = {}
// --- xp
{
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-mlflow-'))
  const env = benchEnv(dir)
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir, env })
  fs.writeFileSync(path.join(dir, 'README.md'), 'bench\n')
  execFileSync('git', ['add', '-A'], { cwd: dir, env })
  execFileSync('git', ['commit', '-qm', 'init'], { cwd: dir, env })
  const { child, url } = await startXp(dir, env)
  const cpu0 = cpuTree(child.pid)
  results.xp = load(url, N)
  results.xp.cpu_ms = ((cpuTree(child.pid) - cpu0) * 1000) / N
  results.xp.raw = await rawSearches(url, results.xp.experiment)
  results.xp.rss = rssTree(child.pid)
  child.kill('SIGTERM')
  fs.rmSync(dir, { recursive: true, force: true })
}
// --- xp, runs/search over 10,000 recorded runs
{
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-mlflow10k-'))
  const env = benchEnv(dir)
  makeRunsRepo(dir, env, 10000, { notes: 0 })
  const { child, url } = await startXp(dir, env)
  const q = { experiment_ids: ['0'], filter: "metrics.acc > 0.9 and params.model = 'rf'", order_by: ['metrics.acc DESC'], max_results: 1000 }
  await post(url, '/api/2.0/mlflow/runs/search', q) // first: reads the record index
  const times = []
  let found = 0
  for (let i = 0; i < 5; i++) {
    const r = await post(url, '/api/2.0/mlflow/runs/search', q)
    times.push(r.s)
    found = r.json.runs?.length ?? 0
  }
  times.sort()
  results.search10k = { s: times[2], runs: found, rss: rssTree(child.pid) }
  child.kill('SIGTERM')
  fs.rmSync(dir, { recursive: true, force: true })
}
// --- the real MLflow server (sqlite)
if (NM > 0 && fs.existsSync(path.join(SHARED, 'server.sh'))) {
  const port = String(15000 + Math.floor(Math.random() * 1000))
  fs.rmSync(path.join(MLDIR, 'srv'), { recursive: true, force: true })
  const pid = Number(
    execFileSync('bash', [path.join(SHARED, 'server.sh'), MLDIR, port], { encoding: 'utf8' })
      .trim()
      .split('\n')[0],
  )
  try {
    const cpu0 = cpuTree(pid)
    results.mlflow = load(`http://127.0.0.1:${port}`, NM)
    results.mlflow.cpu_ms = ((cpuTree(pid) - cpu0) * 1000) / NM
    results.mlflow.raw = await rawSearches(`http://127.0.0.1:${port}`, results.mlflow.experiment)
    results.mlflow.rss = rssTree(pid)
  } finally {
    for (const p of tree(pid).reverse())
      try {
        process.kill(p, 'SIGTERM')
      } catch {}
  }
}

const x = results.xp
const m = results.mlflow
const row = (k, a, b, goal) => console.log(`${k.padEnd(34)} ${String(a).padStart(14)} ${String(b ?? '-').padStart(16)}   ${goal}`)
console.log(
  `\nMLflow API bench: ${N} runs on xp, ${m ? NM : 0} on MLflow 2.11.3 + sqlite (real Python client; ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)})\n`,
)
row('', 'xp ui', 'mlflow server', 'goal')
row(
  'per run (create+batch+update)',
  `${x.per_run_ms.toFixed(1)} ms`,
  m && `${m.per_run_ms.toFixed(1)} ms`,
  `xp >= 5x faster${m ? ` (here ${(m.per_run_ms / x.per_run_ms).toFixed(1)}x)` : ''}`,
)
row('median run', `${x.median_ms.toFixed(1)} ms`, m && `${m.median_ms.toFixed(1)} ms`, '')
row('server CPU per run', `${x.cpu_ms.toFixed(1)} ms`, m && `${m.cpu_ms.toFixed(1)} ms`, m ? `(here ${(m.cpu_ms / x.cpu_ms).toFixed(1)}x less)` : '')
for (let i = 0; i < x.searches.length; i++)
  row(
    `search ${i + 1} (${x.searches[i].runs} runs)`,
    `${x.searches[i].s.toFixed(3)} s`,
    m && `${m.searches[i].s.toFixed(3)} s (${m.searches[i].runs})`,
    '< 0.3 s',
  )
for (let i = 0; i < x.raw.length; i++)
  row(`  same, raw HTTP (no Python client)`, `${x.raw[i].s.toFixed(3)} s`, m && `${m.raw[i].s.toFixed(3)} s (${m.raw[i].runs})`, '< 0.3 s')
row(`search over 10,000 runs (${results.search10k.runs})`, `${results.search10k.s.toFixed(3)} s`, null, '< 0.3 s')
row('server RSS after the runs', mb(x.rss), m && mb(m.rss), '< 150 MB')
row('server RSS, 10,000 runs loaded', mb(results.search10k.rss), null, '< 150 MB')
