// A repository with N fake runs, written in bulk with `git fast-import` (0.7 ms a commit)
// in the record format of docs/architecture.md#run-record (src/core/runs/record.ts encodeRecord). Deterministic,
// so every bench run measures the same repo. Shared by benchmarks that need many runs.
import { spawnSync, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
const ORDER = [
  'xp',
  'id',
  'name',
  'status',
  'exit_code',
  'command',
  'message',
  'started',
  'ended',
  'duration_s',
  'baseline',
  'branch',
  'params',
  'metrics',
  'series',
  'deps',
  'outs',
  'env',
  'error_tail',
]

/** A run record as a commit message, as src/core/runs/record.ts encodeRecord writes it. */
export function encodeRecord(r) {
  const lines = ORDER.filter((k) => r[k] !== undefined).map((k) => `${k}: ${JSON.stringify(r[k])}`)
  return `xp: ${r.name} ${r.status}: ${r.command}\n\n${lines.join('\n')}\n`
}

/** A run id for a time (10 base32 characters of ms, 10 from `rand`), as src/core/runs/ref.ts makes them. */
export function fakeRunId(ms, rand) {
  let t = ms
  let s = ''
  for (let i = 0; i < 10; i++) (s = ALPHABET[t % 32] + s), (t = Math.floor(t / 32))
  for (let i = 0; i < 10; i++) s += ALPHABET[Math.floor(rand() * 32)]
  return s
}

export function benchEnv(home) {
  return {
    PATH: process.env.PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Bench',
    GIT_AUTHOR_EMAIL: 'bench@example.com',
    GIT_COMMITTER_NAME: 'Bench',
    GIT_COMMITTER_EMAIL: 'bench@example.com',
    NO_COLOR: '1',
    // xp's second writing thread forced off (1) or on (2), to compare them
    ...(process.env.XP_THREADS ? { XP_THREADS: process.env.XP_THREADS } : {}),
  }
}

/**
 * Fill `dir` (empty) with a git repo holding `n` runs on one baseline; returns seconds taken.
 * Every run has 5 params, 5 metrics, a series file in its tree (`steps` rows) and 1 in 10 failed.
 * With `distinctSeries`, each run's loss curve is its own (shaped by its lr), as in a sweep.
 */
export function makeRunsRepo(dir, env, n, { steps = 50, notes = 10, distinctSeries = false } = {}) {
  const t0 = performance.now()
  const git = (...args) => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 1 << 30 })
  let seed = 42
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
  const runId = (ms) => fakeRunId(ms, rand)
  git('init', '-q', '-b', 'main')
  fs.writeFileSync(path.join(dir, 'params.yaml'), 'lr: 0.1\n')
  git('add', '-A')
  git('commit', '-q', '-m', 'baseline')
  const baseline = git('rev-parse', 'HEAD').trim()
  let tsv = 'step\tloss\n'
  for (let s = 0; s < steps; s++) tsv += `${s}\t${(1 / (1 + s * 0.1)).toFixed(5)}\n`
  const chunks = [`blob\nmark :1\ndata ${Buffer.byteLength(tsv)}\n${tsv}\n`]
  const start = Date.UTC(2026, 0, 1)
  const models = ['rf', 'svm', 'mlp', 'xgb']
  for (let i = 0; i < n; i++) {
    const ms = start + i * 60_000
    const acc = Number((0.6 + rand() * 0.4).toPrecision(6))
    const failed = rand() < 0.1
    const rec = {
      xp: 1,
      id: runId(ms),
      name: `run-${i}`,
      status: failed ? 'failed' : 'succeeded',
      exit_code: failed ? 1 : 0,
      command: 'python train.py',
      started: new Date(ms).toISOString(),
      ended: new Date(ms + 12_345).toISOString(),
      duration_s: 12.345,
      baseline,
      branch: 'main',
      params: { lr: Number((rand() / 10).toPrecision(4)), model: models[i % 4], 'model.depth': 2 + (i % 7), batch: 32 * (1 + (i % 4)), 'optim.name': 'adam' },
      metrics: {
        acc,
        loss: Number((1 - acc).toPrecision(6)),
        f1: Number((acc - 0.02).toPrecision(6)),
        precision: Number((acc + 0.01).toPrecision(6)),
        'val.loss': Number((1.1 - acc).toPrecision(6)),
      },
      series: ['dvclive/plots/metrics/loss.tsv'],
      deps: {},
      outs: {},
      env: { host: 'bench', vars: {} },
    }
    const msg = encodeRecord(rec)
    let mark = ':1'
    if (distinctSeries) {
      let own = 'step\tloss\n'
      for (let s = 0; s < steps; s++) own += `${s}\t${(1 / (1 + s * rec.params.lr * 3) + rand() * 0.02).toFixed(5)}\n`
      mark = `:${i + 2}`
      chunks.push(`blob\nmark ${mark}\ndata ${Buffer.byteLength(own)}\n${own}\n`)
    }
    chunks.push(
      `commit refs/xp/runs/${rec.id}\ncommitter Bench <bench@example.com> ${Math.floor(ms / 1000)} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}from ${baseline}\nM 100644 ${mark} dvclive/plots/metrics/loss.tsv\n\n`,
    )
  }
  const r = spawnSync('git', ['fast-import', '--quiet'], { cwd: dir, env, input: chunks.join(''), maxBuffer: 1 << 30 })
  if (r.status !== 0) throw new Error(`git fast-import failed: ${r.stderr}`)
  git('pack-refs', '--all')
  if (notes)
    for (const ref of git('for-each-ref', `--count=${notes}`, '--format=%(refname)', 'refs/xp/runs/').trim().split('\n'))
      git('notes', '--ref=refs/notes/xp', 'add', '-m', 'a note on this run', ref)
  return (performance.now() - t0) / 1000
}

/**
 * The xp of another checkout (`--before DIR`): its bin/xp.cjs, or bin/xp.js for a checkout
 * made before xp became one CommonJS bundle (2026-12-01).
 * @param {string} dir
 */
export function checkoutBin(dir) {
  const cjs = path.resolve(dir, 'bin', 'xp.cjs')
  return fs.existsSync(cjs) ? cjs : path.resolve(dir, 'bin', 'xp.js')
}
