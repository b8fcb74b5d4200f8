// Benchmark of the model registry (issue 5): `xp model ls --json` over 1,000 artifacts with
// 10 versions and 2 stages each (30,000 annotated tags, packed), against the floor `node -e 0`
// plus `git for-each-ref refs/tags` measured in the same run. Target: at most 3 times the floor.
// Usage: node scripts/build.mjs && node bench/registry.mjs [ARTIFACTS] [VERSIONS]
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const ARTIFACTS = Number(process.argv[2] ?? 1000)
const VERSIONS = Number(process.argv[3] ?? 10)
const STAGES = ['staging', 'production']
const COMMITS = 1000
const RUNS = 5
const XP = path.resolve(import.meta.dirname, '..', 'bin', 'xp.cjs')

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-registry-'))
const env = {
  ...process.env,
  // a CA bundle loaded at every node start (45 ms) is the shell's, not xp's nor the floor's
  NODE_EXTRA_CA_CERTS: undefined,
  NODE_OPTIONS: undefined,
  HOME: dir,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
}
for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k]
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 1 << 30, ...opts })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
  return r
}

// One fast-import stream: COMMITS commits, then every tag (`tag` commands make annotated tags).
const t0 = Date.now()
run('git', ['init', '-q', '-b', 'main'])
const lines = []
const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`
const T = 1_700_000_000
for (let c = 1; c <= COMMITS; c++) {
  lines.push(`commit refs/heads/main\nmark :${c}\ncommitter Bench <bench@example.com> ${T + c} +0000\n${data(`c${c}`)}`)
  if (c === 1) lines.push(`M 644 inline README.md\n${data('bench')}`)
}
let time = T + COMMITS
let tags = 0
for (let a = 0; a < ARTIFACTS; a++) {
  const name = `model-${a}`
  let counter = 0
  for (let v = 0; v < VERSIONS; v++) {
    const mark = ((a + v * 100) % COMMITS) + 1
    const version = `v1.${v}.0`
    const tag = (n, msg) => {
      lines.push(`tag ${n}\nfrom :${mark}\ntagger Bench <bench@example.com> ${++time} +0000\n${data(msg)}`)
      tags++
    }
    tag(`${name}@${version}`, `Registering artifact ${name} version ${version}`)
    for (const s of STAGES) tag(`${name}#${s}#${++counter}`, `Assigning stage ${s} to artifact ${name} version ${version}`)
  }
}
run('git', ['fast-import', '--quiet'], { input: lines.join('') })
run('git', ['pack-refs', '--all'])
run('git', ['gc', '-q'])
const setup = (Date.now() - t0) / 1000

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
function time1(cmd, args) {
  const s = process.hrtime.bigint()
  const r = run(cmd, args)
  return { s: Number(process.hrtime.bigint() - s) / 1e9, out: r.stdout }
}
const nodeT = []
const refsT = []
const refsFullT = []
const xpT = []
const xpColdT = []
const xpAllT = []
const xpChangedT = []
let out = ''
const FORMAT = '%(objecttype)%00%(refname:strip=2)%00%(objectname)%00%(*objecttype)%00%(*objectname)%00%(taggerdate:unix)%00'
const memo = path.join(dir, '.xp', 'registry-show.json')
const ls = () => time1(process.execPath, [XP, 'model', 'ls', '--json'])
for (let i = 0; i < RUNS; i++) {
  nodeT.push(time1(process.execPath, ['-e', '0']).s)
  refsT.push(time1('git', ['for-each-ref', 'refs/tags']).s)
  refsFullT.push(time1('git', ['for-each-ref', `--format=${FORMAT}`, 'refs/tags']).s)
  // one tag more, as after `xp model register` or a `git fetch`: only its artifact is folded again
  run('git', ['tag', '-a', '-m', 'bench', `model-0@v2.${i}.0`, 'main~' + (i + 1)])
  const changed = ls()
  xpChangedT.push(changed.s)
  // nothing changed: every artifact's part is reused
  const same = ls()
  xpT.push(same.s)
  // every artifact folded (its tag objects from the index)
  fs.rmSync(memo, { force: true })
  const all = ls()
  xpAllT.push(all.s)
  // a fresh clone: no tag index and nothing kept; every tag object is read, every artifact folded
  fs.rmSync(path.join(dir, '.xp', 'registry-tags.txt'), { force: true })
  fs.rmSync(memo, { force: true })
  const cold = ls()
  xpColdT.push(cold.s)
  if (new Set([changed.out, same.out, all.out, cold.out]).size !== 1) throw new Error('the ways of listing disagree')
  out = cold.out
}
const shown = JSON.parse(out)
const floor = median(nodeT) + median(refsT)
const rows = [
  ['node -e 0', median(nodeT)],
  ['git for-each-ref refs/tags', median(refsT)],
  ['floor: the two together', floor],
  ['git for-each-ref with tagger dates (what a cold xp reads)', median(refsFullT)],
  ['xp model ls --json, fresh clone (every tag object read, all folded)', median(xpColdT)],
  ['xp model ls --json, every artifact folded (tag index present)', median(xpAllT)],
  ['xp model ls --json, after one new tag (its artifact folded)', median(xpChangedT)],
  ['xp model ls --json, no tag changed', median(xpT)],
]
console.log(
  `registry: ${ARTIFACTS} artifacts x ${VERSIONS} versions x ${STAGES.length} stages = ${tags} annotated tags, packed (set up in ${setup.toFixed(1)} s)`,
)
console.log(`median of ${RUNS} runs\n`)
console.log('what'.padEnd(66) + 'seconds'.padStart(9) + '   x floor')
for (const [what, s] of rows) console.log(what.padEnd(66) + s.toFixed(3).padStart(9) + (s / floor).toFixed(2).padStart(10))
// a fresh clone's floor: node's start and git reading every tag object for its date (what a cold xp must read)
const coldFloor = median(nodeT) + median(refsFullT)
console.log(
  `\nfresh clone (issue 16): xp model ls --json ${median(xpColdT).toFixed(3)} s against node -e 0 + for-each-ref with tagger dates ${coldFloor.toFixed(3)} s: ${(median(xpColdT) / coldFloor).toFixed(2)} (goal <= 2)`,
)
console.log(
  `xp model ls --json / floor: ${(median(xpChangedT) / floor).toFixed(2)} after a new tag, ${(median(xpT) / floor).toFixed(2)} unchanged, ${(median(xpAllT) / floor).toFixed(2)} all folded, ${(median(xpColdT) / floor).toFixed(2)} fresh clone (target <= 3.00); artifacts listed: ${Object.keys(shown).length}`,
)
const sample = shown['model-0']
if (!sample || sample.version !== `v2.${RUNS - 1}.0`) console.log('WARNING: unexpected output for model-0:', JSON.stringify(sample))
if (process.env.XP_BENCH_KEEP) console.log(`kept ${dir}`)
else fs.rmSync(dir, { recursive: true, force: true })
