// Benchmark `xp show` over many runs (issue 2: `xp show --json` over 10,000 runs at most
// 3x the floor of `node -e 0` + `git for-each-ref --format='%(objectname) %(contents)'`,
// under 0.5 s, peak memory under 200 MB). Runs the built CLI; never fails on time.
//
//   node bench/show.mjs [RUNS]      (default 10000; XP_BENCH_REPEAT=N times each, default 5)
import { spawnSync, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { benchEnv, encodeRecord, fakeRunId } from './lib/fake-runs.mjs'

const ROOT = path.resolve(import.meta.dirname, '..')
const XP = path.join(ROOT, 'bin', 'xp.cjs')
const N = Number(process.argv[2] ?? 10000)
const REPEAT = Number(process.env.XP_BENCH_REPEAT ?? 5)

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-show-'))
const env = benchEnv(dir)
const git = (...args) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 1 << 30 })

// A deterministic pseudo-random source, so every run of the bench builds the same repo.
let seed = 42
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
const runId = (ms) => fakeRunId(ms, rand)

function buildRepo() {
  const t0 = performance.now()
  git('init', '-q', '-b', 'main')
  fs.writeFileSync(path.join(dir, 'params.yaml'), 'lr: 0.1\n')
  git('add', '-A')
  git('commit', '-q', '-m', 'baseline')
  const baseline = git('rev-parse', 'HEAD').trim()
  const chunks = []
  const start = Date.UTC(2026, 0, 1)
  const models = ['rf', 'svm', 'mlp', 'xgb']
  for (let i = 0; i < N; i++) {
    const ms = start + i * 60_000
    const lr = Number((rand() / 10).toPrecision(4))
    const acc = Number((0.6 + rand() * 0.4).toPrecision(6))
    const rec = {
      xp: 1,
      id: runId(ms),
      name: `run-${i}`,
      status: rand() < 0.9 ? 'succeeded' : 'failed',
      exit_code: 0,
      command: 'python train.py',
      started: new Date(ms).toISOString(),
      ended: new Date(ms + 12_345).toISOString(),
      duration_s: 12.345,
      baseline,
      branch: 'main',
      params: { lr, model: models[i % 4], 'model.depth': 2 + (i % 7), batch: 32 * (1 + (i % 4)), 'optim.name': 'adam' },
      metrics: {
        acc,
        loss: Number((1 - acc).toPrecision(6)),
        f1: Number((acc - 0.02).toPrecision(6)),
        precision: Number((acc + 0.01).toPrecision(6)),
        'val.loss': Number((1.1 - acc).toPrecision(6)),
      },
      series: ['logs/train.tsv'],
      deps: { 'data/train': { oid: 'a'.repeat(32) + '.dir', size: 123456, files: 40 } },
      outs: {},
      env: { host: 'bench', user: 'bench', os: 'linux', node: 'v20', python: '3.11', git: '2.39', vars: {} },
    }
    const msg = Buffer.from(encodeRecord(rec))
    const when = Math.floor(ms / 1000)
    chunks.push(`commit refs/xp/runs/${rec.id}\ncommitter Bench <bench@example.com> ${when} +0000\ndata ${msg.length}\n${msg}from ${baseline}\n\n`)
  }
  spawnSync('git', ['fast-import', '--quiet'], { cwd: dir, env, input: chunks.join(''), maxBuffer: 1 << 30 })
  git('pack-refs', '--all')
  git('gc', '-q')
  // a few notes, so the notes lookup is part of what is timed
  for (const ref of git('for-each-ref', '--count=10', '--format=%(refname)', 'refs/xp/runs/').trim().split('\n'))
    git('notes', '--ref=refs/notes/xp', 'add', '-m', 'a note on this run', ref)
  return (performance.now() - t0) / 1000
}

function time(cmd, args, opts = {}) {
  const t0 = performance.now()
  const r = spawnSync(cmd, args, { cwd: dir, env, maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  const s = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`)
  return { s, stdout: r.stdout }
}

// Peak memory of the xp process: GNU time when installed, else the process's own maxRSS
// reported by a preloaded hook at exit.
const RSS_HOOK = path.join(os.tmpdir(), `xp-bench-rss-${process.pid}.cjs`)
function peakMB(args) {
  const viaTime = fs.existsSync('/usr/bin/time')
  if (!viaTime) fs.writeFileSync(RSS_HOOK, "process.on('exit', () => process.stderr.write('\\nmaxrss-kb ' + process.resourceUsage().maxRSS + '\\n'))\n")
  const r = viaTime
    ? spawnSync('/usr/bin/time', ['-v', process.execPath, XP, ...args], { cwd: dir, env, maxBuffer: 1 << 30, encoding: 'utf8' })
    : spawnSync(process.execPath, ['--require', RSS_HOOK, XP, ...args], { cwd: dir, env, maxBuffer: 1 << 30, encoding: 'utf8' })
  const m = (viaTime ? /Maximum resident set size \(kbytes\): (\d+)/ : /maxrss-kb (\d+)/).exec(r.stderr)
  return m ? Number(m[1]) / 1024 : NaN
}

const built = buildRepo()
const check = JSON.parse(String(time(process.execPath, [XP, 'show', '--json']).stdout))
if (check.length !== N) throw new Error(`xp show --json listed ${check.length} runs, expected ${N}`)

// The machine may be shared: floor and xp are timed in turns, so a busy moment hits both.
const dropIndex = () => fs.rmSync(path.join(dir, '.git', 'xp'), { recursive: true, force: true })
/** @type {Array<[string, string, string[], (() => void)?]>} */
const cases = [
  ['node -e 0', process.execPath, ['-e', '0']],
  ['git for-each-ref', 'git', ['for-each-ref', '--format=%(objectname) %(contents)', 'refs/xp/runs/']],
  ['xp show --json', process.execPath, [XP, 'show', '--json']],
  ['xp show --json (no index yet)', process.execPath, [XP, 'show', '--json'], dropIndex],
  ['xp show (table)', process.execPath, [XP, 'show']],
  ['xp show --filter', process.execPath, [XP, 'show', '--filter', 'metrics.acc > 0.9 and (params.model == "rf" or params.lr <= 0.01)']],
  ['xp show --sort-by acc -n 10', process.execPath, [XP, 'show', '--sort-by', 'acc', '-n', '10']],
  ['xp show --csv', process.execPath, [XP, 'show', '--csv']],
]
const samples = new Map(cases.map((c) => [c[0], []]))
for (const [, cmd, args] of cases) time(cmd, args) // warm the page cache and the record index
for (let i = 0; i < REPEAT; i++)
  for (const [name, cmd, args, before] of cases) {
    before?.()
    samples.get(name).push(time(cmd, args).s)
  }
const med = (name) => {
  const xs = samples
    .get(name)
    .slice()
    .sort((a, b) => a - b)
  return xs[Math.floor(xs.length / 2)]
}
const node0 = med('node -e 0')
const feRef = med('git for-each-ref')
const floor = node0 + feRef
const rss = { 'xp show --json': peakMB(['show', '--json']), 'xp show (table)': peakMB(['show']) }
dropIndex()
rss['xp show --json (no index yet)'] = peakMB(['show', '--json'])
const rows = cases.slice(2).map(([name]) => [name, med(name), rss[name] ?? NaN])

const fmt = (s) => `${s.toFixed(3)} s`
console.log(`xp show over ${N} runs (packed refs; repo built in ${built.toFixed(1)} s; median of ${REPEAT}, floor and xp timed in turns)`)
console.log(`floor: node -e 0 ${fmt(node0)} + git for-each-ref ${fmt(feRef)} = ${fmt(floor)}`)
console.log('')
console.log(['command'.padEnd(30), 'time'.padStart(9), 'x floor'.padStart(8), 'peak RSS'.padStart(10)].join('  '))
for (const [name, s, mb] of rows)
  console.log(
    [name.padEnd(30), fmt(s).padStart(9), (s / floor).toFixed(2).padStart(8), (Number.isNaN(mb) ? '' : `${mb.toFixed(0)} MB`).padStart(10)].join('  '),
  )
console.log('')
console.log(`targets: xp show --json <= 3x floor (${fmt(3 * floor)}) and < 0.5 s; peak RSS < 200 MB`)
fs.rmSync(RSS_HOOK, { force: true })
if (process.env.XP_BENCH_KEEP) console.log(`kept ${dir}`)
else fs.rmSync(dir, { recursive: true, force: true })
