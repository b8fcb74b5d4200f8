// Issue 16's table: every everyday command beside its floor (what the same work costs with
// the plainest tools) and DVC 3.28's figures from the issue as the peer. Floor and xp are
// timed in the same loop, alternately, and the medians printed with the load average: the
// machine is shared, so wall times swing, and a ratio of two figures taken side by side is
// the steadier number. `--all` runs every earlier bench too (their own tables follow).
// Usage: npm run build && node bench/speed.mjs [--small] [--all] [--only ROW,ROW] [--before DIR] [--profile] [--no-warm] [--no-settle]
// --before DIR: another checkout's build (e.g. the commit before a change) timed in the same
// loop, as a column of its own: before and after under the same load.
// Rows: add, noop, status, noop20k, status20k, big, run, runmany, show, push, folder, clone (never fails on time).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { benchEnv, checkoutBin, makeRunsRepo } from './lib/fake-runs.mjs'

const ROOT = path.resolve(import.meta.dirname, '..')
const XP = path.join(ROOT, 'bin', 'xp.cjs')
const small = process.argv.includes('--small')
const onlyArg = process.argv.indexOf('--only')
const only = onlyArg > 0 ? process.argv[onlyArg + 1].split(',') : null
const want = (row) => !only || only.includes(row)
// --profile: one more xp call per row under `node --cpu-prof`, its top functions printed under the table
const PROFILE = process.argv.includes('--profile')
const beforeArg = process.argv.indexOf('--before')
const BEFORE = beforeArg > 0 ? checkoutBin(process.argv[beforeArg + 1]) : null
// --no-settle: time the data rows without a `sync` before each call (as before 2026-12-01)
const SETTLE = !process.argv.includes('--no-settle')
/** python3 is here: the crash-safe store's rows (bench/lib/safe-store.py) and the run of `python3 -c 0` */
const SAFE_STORE = path.join(ROOT, 'bench', 'lib', 'safe-store.py')
const PYTHON = spawnSync('python3', ['-c', '0']).status === 0
const N = Number(process.env.BENCH_REPEAT ?? (small ? 3 : 5))
const NSMALL = small ? 1000 : 5000
const BIGPART = small ? 32 * 2 ** 20 : 256 * 2 ** 20
const GIB = small ? 128 * 2 ** 20 : 2 ** 30
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-speed-'))
const env = benchEnv(path.join(work, 'home'))
fs.mkdirSync(env.HOME)

/** CPU seconds (user + system of the command and its children) of the timed calls since the last reset. */
let cpuAcc = 0
const secs = (x) => {
  const m = /(\d+)m([\d.]+)s/.exec(x)
  return m ? Number(m[1]) * 60 + Number(m[2]) : 0
}
/** Run a command; returns its wall seconds and adds its CPU seconds (from bash's `times`) to cpuAcc. */
function sh(cmd, args, cwd = work, extra = {}) {
  const t = process.hrtime.bigint()
  const r = spawnSync('bash', ['-c', '"$@"; s=$?; times >&2; exit $s', 'bash', cmd, ...args], {
    cwd,
    env: { ...env, ...extra },
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const wall = Number(process.hrtime.bigint() - t) / 1e9
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}: ${r.stderr}`)
  const [u, sy] = r.stderr.trim().split('\n').pop().split(/\s+/)
  cpuAcc += secs(u) + secs(sy)
  return wall
}
/** fn's wall seconds and CPU seconds. */
function timed(fn, i, walls, cpus) {
  cpuAcc = 0
  walls.push(fn(i))
  cpus.push(cpuAcc)
}
let bin = XP
/** node options for the next xp calls (--profile sets --cpu-prof; NODE_OPTIONS may not carry it) */
let nodeFlags = []
const xp = (cwd, ...args) => sh(process.execPath, [...nodeFlags, bin, ...args], cwd)
const git = (cwd, ...args) => sh('git', args, cwd)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rm = (p) => fs.rmSync(p, { recursive: true, force: true })
// The data rows never delete nor empty a tree between timed calls: they move it here, and
// the trees are deleted when the bench ends. Two things of this machine made a file
// created in one round cost up to 6 times what it cost in another (`cp -r` of 5,001 files:
// 0.24-1.6 s), both about what happened before the call, not in it:
// - Its root is ext4 without a journal, where creating a file skips every inode freed in
//   the last 5 s (300 s while its inode-table block is dirty), looking each one up (perf:
//   ext4's `recently_deleted` and `find_get_block_common`, 40-45% of a `cp -r`'s samples
//   just after an `rm -rf` of as many files).
// - It is a virtual machine whose balloon reports freed pages to the host (virtio
//   `F_REPORTING`): a page freed (a deleted or truncated file's) is given back, and the
//   next one touched is slow to come (the copy's `memcpy` was 81% of a slow `cp -r`).
// So nothing is freed while the bench times, and `warmMemory` first fills the page cache
// with a file kept to the end: from then on the kernel takes pages from the cache it
// reclaims, all of them ones the host has backed.
let trashed = 0
const trash = (p) => {
  if (!fs.existsSync(p)) return
  fs.mkdirSync(path.join(work, 'trash'), { recursive: true })
  fs.renameSync(p, path.join(work, 'trash', String(trashed++)))
}
/** Fill the free memory with page cache (a file written once, never read), untimed; `--no-warm` skips it. */
function warmMemory() {
  if (process.argv.includes('--no-warm')) return
  const free = Number(/MemFree:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) * 1024
  const bytes = Math.max(0, free - 2 ** 30)
  const block = Buffer.alloc(64 * 2 ** 20, 1)
  const fd = fs.openSync(path.join(work, 'warm.bin'), 'w')
  for (let off = 0; off < bytes; off += block.length) fs.writeSync(fd, block)
  fs.closeSync(fd)
  spawnSync('sync')
  console.error(`  (the page cache filled with ${(bytes / 2 ** 30).toFixed(1)} GiB first: --no-warm skips it)`)
}

/**
 * Floor and xp alternately, N times; each side's `prepare` runs untimed before it.
 * Returns the medians in seconds.
 * @param {{ floor: (i: number) => number, xp: (i: number) => number, prepFloor?: (i: number) => void, prepXp?: (i: number) => void, n?: number, settle?: boolean }} o
 */
function pair({ floor, xp: x, prepFloor = (_i) => {}, prepXp = (_i) => {}, n = N, settle = false }) {
  const [f, fc, s, sc, b, bc] = [[], [], [], [], [], []]
  // settle: write every dirty page out (untimed) before each timed call, so no call pays the
  // kernel's writeback of an earlier one's data (24 GiB of RAM keep 30 s of dirty pages, and
  // the flusher then writes them out in the middle of whichever call is running)
  const quiet = settle ? () => spawnSync('sync') : () => {}
  for (let i = 0; i < n; i++) {
    prepFloor(i)
    quiet()
    timed(floor, i, f, fc)
    const before = () => {
      bin = BEFORE
      try {
        prepXp(i)
        quiet()
        timed(x, i, b, bc)
      } finally {
        bin = XP
      }
    }
    // before and after take turns going first: the one after a big write pays its writeback
    if (BEFORE && i % 2 === 0) before()
    prepXp(i)
    quiet()
    timed(x, i, s, sc)
    if (BEFORE && i % 2 === 1) before()
  }
  let profile
  if (PROFILE) {
    const dir = fs.mkdtempSync(path.join(work, 'prof-'))
    prepXp(n)
    nodeFlags = ['--cpu-prof', `--cpu-prof-dir=${dir}`]
    try {
      x(n)
    } finally {
      nodeFlags = []
    }
    profile = summarize(dir)
  }
  return {
    floor: median(f),
    xp: median(s),
    before: BEFORE ? median(b) : undefined,
    floorCpu: median(fc),
    xpCpu: median(sc),
    beforeCpu: BEFORE ? median(bc) : undefined,
    profile,
  }
}

/** The heaviest functions (self time) of the CPU profiles in `dir`, as one line. */
function summarize(dir) {
  const self = new Map()
  let total = 0
  for (const f of fs.readdirSync(dir)) {
    const p = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))
    const byId = new Map(p.nodes.map((n) => [n.id, n]))
    p.samples.forEach((id, i) => {
      const cf = byId.get(id).callFrame
      const key = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').pop()}`.trim()
      self.set(key, (self.get(key) ?? 0) + p.timeDeltas[i] / 1000)
      total += p.timeDeltas[i] / 1000
    })
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 8)
  return `${total.toFixed(0)} ms sampled: ` + top.map(([k, ms]) => `${k} ${ms.toFixed(0)}`).join(', ')
}

const rows = []
function row(what, r, floorName, peer, goal) {
  rows.push({ what, ...r, floorName, peer, goal })
  console.error(`  ${what}: xp ${r.xp.toFixed(3)} s${r.before === undefined ? '' : ` (before ${r.before.toFixed(3)} s)`}, floor ${r.floor.toFixed(3)} s`)
}

function makeData(dir) {
  const pool = randomBytes(64 * 1024 + 16)
  for (let i = 0; i < NSMALL; i++) {
    const sub = path.join(dir, 'small', String(i % 100).padStart(2, '0'))
    if (i < 100) fs.mkdirSync(sub, { recursive: true })
    const size = 4096 + ((i * 2654435761) % (60 * 1024))
    const buf = Buffer.from(pool.subarray(i % 16, (i % 16) + size))
    buf.writeUInt32LE(i, 0)
    fs.writeFileSync(path.join(sub, `f${i}.bin`), buf)
  }
  writeBig(path.join(dir, 'big.bin'), BIGPART)
}
function writeBig(file, bytes) {
  const block = randomBytes(16 * 2 ** 20)
  const fd = fs.openSync(file, 'w')
  for (let off = 0; off < bytes; off += block.length) {
    block.writeUInt32LE(off / block.length, 0)
    fs.writeSync(fd, block, 0, Math.min(block.length, bytes - off))
  }
  fs.closeSync(fd)
}
const warm = (dir) => spawnSync('sh', ['-c', `find "${dir}" -type f -print0 | xargs -0 cat > /dev/null`])
function repoWith(name) {
  const d = path.join(work, name)
  fs.mkdirSync(d, { recursive: true })
  git(d, 'init', '-q', '-b', 'main')
  return d
}

function dataRows() {
  warmMemory()
  const src = path.join(work, 'src')
  makeData(src)
  const repo = repoWith('data-repo')
  const files = NSMALL + 1
  warm(src)
  /** the repository as before its first add: the data copied in, no cache, no pointer */
  const freshData = () => {
    trash(path.join(repo, '.xp'))
    trash(path.join(repo, 'data'))
    trash(path.join(repo, 'data.xp'))
    fs.cpSync(src, path.join(repo, 'data'), { recursive: true })
    warm(path.join(repo, 'data'))
  }
  const addXp = { xp: () => xp(repo, 'add', 'data'), prepXp: freshData, n: Math.min(N, 3), settle: SETTLE }
  if (want('add'))
    row(
      `add ${files} files / ${((NSMALL * 34 * 1024 + BIGPART) / 2 ** 20).toFixed(0)} MiB`,
      pair({
        floor: () => sh('cp', ['-r', src, path.join(work, 'cp')]),
        prepFloor: () => trash(path.join(work, 'cp')),
        ...addXp,
      }),
      '`cp -r`',
      14.75,
      1.5,
    )
  // the same add against the syscalls of a crash-safe store without xp (bench/lib/safe-store.py:
  // each file read, written to a temporary name beside its object, renamed; no hash), where
  // `cp -r` writes each file once under its final name
  if (want('add') && PYTHON)
    row(
      `add ${files} files, beside a crash-safe store's syscalls`,
      pair({
        floor: () => sh('python3', [SAFE_STORE, src, path.join(work, 'py')]),
        prepFloor: () => trash(path.join(work, 'py')),
        ...addXp,
      }),
      'Python: read, write a temporary name, rename (no hash)',
    )
  trash(path.join(work, 'py'))
  trash(path.join(work, 'cp'))
  if (!fs.existsSync(path.join(repo, 'data.xp'))) {
    fs.cpSync(src, path.join(repo, 'data'), { recursive: true })
    xp(repo, 'add', 'data')
  }
  // the floor of a no-op: one lstat per file (find -printf %s needs the stat)
  const statAll = () => sh('sh', ['-c', 'find data -type f -printf "%s\\n" > /dev/null'], repo)
  if (want('noop')) row('no-op re-add', pair({ floor: statAll, xp: () => xp(repo, 'add', 'data') }), 'stat of all files', 12.1)
  if (want('status')) row('status, nothing changed', pair({ floor: statAll, xp: () => xp(repo, 'status') }), 'stat of all files', 1.39, 0.2 / 0.02)
  git(repo, 'add', 'data.xp', '.gitignore')
  git(repo, 'commit', '-q', '-m', 'data')

  // a folder remote: push the objects there (floor: cp -r of the cache)
  const remote = path.join(work, 'remote')
  xp(repo, 'remote', 'add', 'store', remote, '--default')
  git(repo, 'add', 'xp.yaml')
  git(repo, 'commit', '-q', '-m', 'remote')
  const pushXp = {
    xp: () => xp(repo, 'push', lastBare),
    prepXp: () => {
      // an empty remote folder (a push never creates one unasked)
      trash(remote)
      fs.mkdirSync(remote)
      bare()
    },
    n: Math.min(N, 3),
    settle: SETTLE,
  }
  if (want('folder'))
    row(
      `push ${files} objects to a folder remote`,
      pair({
        floor: () => sh('cp', ['-r', path.join(repo, '.xp', 'cache'), path.join(work, 'cp')]),
        prepFloor: () => trash(path.join(work, 'cp')),
        ...pushXp,
      }),
      '`cp -r`',
      6.96,
      2,
    )
  // the same push against a crash-safe store's syscalls (a remote folder never holds half an
  // object under its real name either): each cache object read, written to a temporary name, renamed
  if (want('folder') && PYTHON)
    row(
      `push ${files} objects, beside a crash-safe store's syscalls`,
      pair({
        floor: () => sh('python3', [SAFE_STORE, path.join(repo, '.xp', 'cache'), path.join(work, 'pyr')]),
        prepFloor: () => trash(path.join(work, 'pyr')),
        ...pushXp,
      }),
      'Python: read, write a temporary name, rename (no hash)',
    )
  trash(path.join(work, 'pyr'))
  if (!fs.existsSync(remote)) {
    fs.mkdirSync(remote)
    xp(repo, 'push', bare())
  }
  git(repo, 'remote', 'add', 'origin', lastBare)
  trash(path.join(work, 'cp'))
  // a fresh clone: pull the data, check it out (floor: cp -r remote -> cache, cache -> data)
  const cloneXp = {
    xp: () => xp(path.join(work, 'clone'), 'pull') + xp(path.join(work, 'clone'), 'checkout'),
    prepXp: () => {
      trash(path.join(work, 'clone'))
      git(work, 'clone', '-q', repo, 'clone')
    },
    n: Math.min(N, 3),
    settle: SETTLE,
  }
  if (want('clone'))
    row(
      'fresh clone: pull + checkout',
      pair({
        floor: () => sh('cp', ['-r', remote, path.join(work, 'cp1')]) + sh('cp', ['-r', path.join(work, 'cp1'), path.join(work, 'cp2')]),
        prepFloor: () => {
          trash(path.join(work, 'cp1'))
          trash(path.join(work, 'cp2'))
        },
        ...cloneXp,
      }),
      '`cp -r` twice',
      13.94,
      2,
    )
  // the same pull against the syscalls of a crash-safe store without xp: each object read,
  // written to the cache and to the working tree, each under a temporary name then renamed
  if (want('clone') && PYTHON)
    row(
      "fresh clone, beside a crash-safe store's syscalls",
      pair({
        floor: () => sh('python3', [SAFE_STORE, remote, path.join(work, 'py1'), path.join(work, 'py2')]),
        prepFloor: () => {
          trash(path.join(work, 'py1'))
          trash(path.join(work, 'py2'))
        },
        ...cloneXp,
      }),
      'Python: read, write cache and working tree, each a temporary name then renamed (no hash)',
    )
  trash(path.join(work, 'py1'))
  trash(path.join(work, 'py2'))
  trash(path.join(work, 'cp1'))
  trash(path.join(work, 'cp2'))
  trash(path.join(work, 'clone'))
  trash(repo)
  trash(remote)
  trash(src)

  if (want('big')) {
    const brepo = repoWith('big-repo')
    const big = path.join(work, 'big.bin')
    writeBig(big, GIB)
    row(
      `add one ${(GIB / 2 ** 30).toFixed(GIB < 2 ** 30 ? 2 : 0)} GiB file`,
      pair({
        floor: () => sh('cp', [big, path.join(work, 'big.cp')]),
        prepFloor: () => trash(path.join(work, 'big.cp')),
        xp: () => xp(brepo, 'add', 'big.bin'),
        prepXp: () => {
          trash(path.join(brepo, '.xp'))
          trash(path.join(brepo, 'big.bin.xp'))
          trash(path.join(brepo, 'big.bin'))
          fs.copyFileSync(big, path.join(brepo, 'big.bin'))
        },
        n: Math.min(N, 3),
        settle: SETTLE,
      }),
      '`cp`',
      3.84,
      1.5,
    )
    trash(brepo)
    trash(big)
    trash(path.join(work, 'big.cp'))
  }
}
// issue 16's goal for the everyday no-ops: 20,000 small files (100-150 B, in 100 folders),
// a no-op `xp add` and `xp status` <= 0.2 s, beside one stat of every file
function manyRows() {
  const repo = repoWith('many-repo')
  const n = small ? 5000 : 20000
  for (let i = 0; i < n; i++) {
    const sub = path.join(repo, 'many', `d${String(i % 100).padStart(2, '0')}`)
    if (i < 100) fs.mkdirSync(sub, { recursive: true })
    fs.writeFileSync(path.join(sub, `f${i}.txt`), `${i} `.padEnd(100 + (i % 51), 'x'))
  }
  xp(repo, 'add', 'many')
  if (BEFORE) {
    bin = BEFORE
    xp(repo, 'status') // the before build's own stat cache, as after its own add
    bin = XP
  }
  const statAll = () => sh('sh', ['-c', 'find many -type f -printf "%s\\n" > /dev/null'], repo)
  if (want('noop20k')) row(`no-op re-add, ${n} files`, pair({ floor: statAll, xp: () => xp(repo, 'add', 'many') }), 'stat of every file', undefined, 0.2 / 0.02)
  if (want('status20k'))
    row(`status, nothing changed, ${n} files`, pair({ floor: statAll, xp: () => xp(repo, 'status') }), 'stat of every file', undefined, 0.2 / 0.02)
  rm(repo)
}

let bareCount = 0
let lastBare = ''
function bare() {
  lastBare = path.join(work, `bare${bareCount++}.git`)
  git(work, 'init', '-q', '--bare', lastBare)
  return lastBare
}

function runRows() {
  const make = (name) => {
    const d = repoWith(name)
    for (let i = 0; i < 1000; i++) {
      const sub = path.join(d, 'src', `m${i % 20}`)
      fs.mkdirSync(sub, { recursive: true })
      fs.writeFileSync(path.join(sub, `f${i}.py`), `# file ${i}\n` + 'x = 1\n'.repeat(50))
    }
    fs.writeFileSync(path.join(d, 'params.yaml'), 'lr: 0.1\n')
    git(d, 'add', '-A')
    git(d, 'commit', '-q', '-m', 'init')
    return d
  }
  const mine = make('run-xp')
  const b = make('run-git')
  // the before column runs in a repository of its own: each build keeps its own caches
  // (a run this build records is in its record index; one an older build recorded is not)
  const theirs = BEFORE ? make('run-before') : mine
  const repoA = () => (bin === BEFORE ? theirs : mine)
  const change = (d, i) => fs.writeFileSync(path.join(d, 'src', 'm0', 'f0.py'), `# change ${i}\n`)
  xp(mine, 'run', '--', 'true') // the git version cache, as after a first run
  if (BEFORE) {
    bin = BEFORE
    xp(theirs, 'run', '--', 'true')
    bin = XP
  }
  row(
    'run overhead, 1,000 files (`xp run -- true`)',
    pair({
      floor: () => sh(process.execPath, ['-e', '0']) + sh('sh', ['-c', 'git add -A && git commit -q -m change'], b),
      prepFloor: (i) => change(b, i),
      xp: () => xp(repoA(), 'run', '--', 'true'),
      prepXp: (i) => change(repoA(), i),
    }),
    'node start + `git add -A` + `git commit`',
    '1.64 (with the command)',
    2,
  )
  if (PYTHON)
    row(
      'run `python3 -c 0`, 1,000 files',
      pair({
        floor: () => sh('python3', ['-c', '0']),
        xp: () => xp(repoA(), 'run', '--', 'python3', '-c', '0'),
        prepXp: (i) => change(repoA(), i + 100),
      }),
      'the command alone',
      1.64,
    )
  rm(mine)
  rm(theirs)
  rm(b)
}

// `xp run` in a repository that holds 2,000 runs already: it reads every run's name (to
// refuse a taken one and draw a free one) and appends its record to the index
function manyRunsRow() {
  const dir = path.join(work, 'runs2k')
  const floorDir = path.join(work, 'runs2k-git')
  for (const d of [dir, floorDir]) {
    fs.mkdirSync(d)
    makeRunsRepo(d, env, 2000)
  }
  xp(dir, 'show', '--json') // the record index, as after any listing
  xp(dir, 'run', '--', 'true') // the git version and identity caches, as after a first run
  const theirs = path.join(work, 'runs2k-before')
  if (BEFORE) {
    fs.mkdirSync(theirs)
    makeRunsRepo(theirs, env, 2000)
    bin = BEFORE
    xp(theirs, 'show', '--json')
    xp(theirs, 'run', '--', 'true')
    bin = XP
  }
  const repoA = () => (bin === BEFORE ? theirs : dir)
  row(
    '`xp run -- true`, 2,000 runs recorded',
    pair({
      floor: () => sh(process.execPath, ['-e', '0']) + sh('sh', ['-c', 'git add -A && git commit -q -m change'], floorDir),
      prepFloor: (i) => fs.writeFileSync(path.join(floorDir, 'params.yaml'), `lr: 0.${i + 2}\n`),
      xp: () => xp(repoA(), 'run', '--', 'true'),
      prepXp: (i) => fs.writeFileSync(path.join(repoA(), 'params.yaml'), `lr: 0.${i + 2}\n`),
    }),
    'node start + `git add -A` + `git commit`',
  )
  for (const d of [dir, floorDir, theirs]) rm(d)
}

function runsRows() {
  const dir = path.join(work, 'runs')
  fs.mkdirSync(dir)
  makeRunsRepo(dir, env, 200)
  if (want('show'))
    row(
      'show --json, 200 runs, cold',
      pair({
        floor: () => sh(process.execPath, ['-e', '0']) + sh('git', ['for-each-ref', '--format=%(objectname) %(contents)', 'refs/xp/runs/'], dir),
        xp: () => xp(dir, 'show', '--json'),
        prepXp: () => rm(path.join(dir, '.xp')),
      }),
      'node start + `git for-each-ref` of the records',
      5.38,
    )
  if (want('push')) {
    let k = 0
    let j = 0
    row(
      'push 200 runs to a bare repo',
      pair({
        floor: () => git(dir, 'push', '-q', path.join(work, `pf${k}.git`), 'refs/xp/runs/*:refs/xp/runs/*', 'refs/notes/xp:refs/notes/xp'),
        prepFloor: () => {
          k++
          git(work, 'init', '-q', '--bare', `pf${k}.git`)
        },
        xp: () => xp(dir, 'push', path.join(work, `px${j}.git`)),
        prepXp: () => git(work, 'init', '-q', '--bare', `px${++j}.git`),
      }),
      '`git push` of the same refs',
      1.42,
      1.5,
    )
    row(
      'no-op push (200 runs up to date)',
      pair({
        floor: () => git(dir, 'push', '-q', path.join(work, `pf${k}.git`), 'refs/xp/runs/*:refs/xp/runs/*', 'refs/notes/xp:refs/notes/xp'),
        xp: () => xp(dir, 'push', path.join(work, `px${j}.git`)),
      }),
      'no-op `git push`',
      undefined,
      0.3 / 0.1,
    )
  }
  rm(dir)
}

try {
  console.error(
    `bench/speed.mjs: ${N} rounds${small ? ' [--small]' : ''}; load average before: ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  )
  if (['add', 'noop', 'status', 'folder', 'clone', 'big'].some(want)) dataRows()
  if (want('noop20k') || want('status20k')) manyRows()
  if (want('run')) runRows()
  if (want('show') || want('push')) runsRows()
  if (want('runmany')) manyRunsRow()
  const load = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')
  console.log(
    `\nbench/speed.mjs: issue 16's table (median of ${N} alternating rounds, ${os.cpus().length} cores, load average ${load}${small ? ', --small data' : ''})\n`,
  )
  // wall / CPU seconds; ratios of both (CPU is the steadier under load)
  const wc = (w, c) => `${w.toFixed(3)} / ${c.toFixed(3)}`
  const ratio = (x, xc, r) => `${(x / r.floor).toFixed(2)} / ${(xc / r.floorCpu).toFixed(2)}`
  const b = BEFORE ? ' before s | before / floor |' : ''
  console.log('wall / CPU seconds (CPU: user + system of the whole process tree)\n')
  console.log(`| operation |${b} xp s | floor s | floor | xp / floor | goal | DVC 3.28 s (issue) |`)
  console.log(`|---|${BEFORE ? '---:|---:|' : ''}---:|---:|---|---:|---:|---:|`)
  for (const r of rows) {
    const bc = BEFORE ? ` ${wc(r.before, r.beforeCpu)} | ${ratio(r.before, r.beforeCpu, r)} |` : ''
    console.log(
      `| ${r.what} |${bc} ${wc(r.xp, r.xpCpu)} | ${wc(r.floor, r.floorCpu)} | ${r.floorName} | ${ratio(r.xp, r.xpCpu, r)} | ${r.goal ? `<= ${r.goal.toFixed(1)}` : ''} | ${r.peer ?? ''} |`,
    )
  }
  if (PROFILE) {
    console.log('\nCPU profiles of one xp call per row (self time, ms; (idle) is waiting for git or the disk):\n')
    for (const r of rows) if (r.profile) console.log(`- ${r.what}: ${r.profile}`)
  }
} finally {
  rm(work)
}

if (process.argv.includes('--all')) {
  // every earlier bench, with its own floors and peers (one after another: two cores)
  for (const f of fs
    .readdirSync(import.meta.dirname)
    .filter((f) => f.endsWith('.mjs') && !['all.mjs', 'speed.mjs'].includes(f))
    .sort()) {
    console.log(`\n=== bench/${f}`)
    spawnSync(process.execPath, [path.join(import.meta.dirname, f), ...(small ? ['--small'] : [])], { stdio: 'inherit' })
  }
}
