// Benchmark of xp push against its peers, in one run on this machine:
//   1. 2,000 objects of 16 KiB and one of 256 MB to the local S3 server (Ceph radosgw if it
//      starts, else s3rver): `xp push` vs `rclone copy` of the same files, same server.
//   2. 10,000 runs to a bare remote: `xp push` vs a plain `git push` of the same refs (floor).
//   3. a push with nothing new (goal < 0.5 s).
// The S3 server is warmed up first by an untimed rclone copy to another prefix.
// Usage: node scripts/build.mjs && node bench/remotes.mjs [--small] [--only s3|git] [--repeat N] [-j N] [--before WORKTREE]
//   (never fails on time). With --repeat, the S3 rounds alternate who goes first; medians,
//   with the CPU seconds of the client and of the server's processes (Ceph) during each;
//   --before times another worktree's build in the same rounds. Keep N <= 3 at full size:
//   Ceph's memstore holds 4 GiB and every push stores 287 MiB.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { benchEnv, checkoutBin } from './lib/fake-runs.mjs'
import { randomBytes } from 'node:crypto'
import { build } from 'esbuild'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true' // the SDK's notice about Node 22, not a result
const ROOT = path.resolve(import.meta.dirname, '..')
const XP = path.join(ROOT, 'bin', 'xp.cjs')
const small = process.argv.includes('--small')
const N_SMALL = small ? 200 : 2000
const BIG = small ? 32 * 1024 * 1024 : 256 * 1024 * 1024
const N_RUNS = small ? 1000 : 10000

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-remotes-'))
const env = benchEnv(path.join(work, 'home'))
fs.mkdirSync(env.HOME)

function run(cmd, args, opts = {}) {
  const t = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? work, env: { ...env, ...opts.env }, encoding: 'utf8', input: opts.input, maxBuffer: 1 << 30 })
  const s = Number(process.hrtime.bigint() - t) / 1e9
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return { s, stdout: r.stdout }
}
const xp = (args, opts) => run(process.execPath, [XP, ...args], opts)
const git = (args, opts) => run('git', args, opts)

// the test servers are TypeScript: bundle them once for plain Node
async function loadServers() {
  // inside the project, so the bundle resolves the SDK from node_modules
  const out = path.join(ROOT, 'node_modules', '.cache', 'xp-bench', 'servers.mjs')
  await build({
    stdin: {
      contents:
        "export * from './test/servers/ceph.ts'; export * from './test/servers/s3rver.ts'; export * from './test/servers/git.ts'; export * from './test/servers/rclone.ts'",
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: out,
    packages: 'external',
    logLevel: 'error',
    define: { 'import.meta.dirname': JSON.stringify(path.join(ROOT, 'test', 'servers')) },
  })
  return import(out)
}

const rows = []
const row = (what, xpS, peerName, peerS, note = '') => rows.push({ what, xp: xpS, peerName, peer: peerS, note })
const fmt = (s) => (s === undefined ? '' : `${s.toFixed(2)} s`)

// CPU seconds (user + system) of a process, from /proc (0 when it is gone)
function cpuOf(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return 0
  }
}
// CPU seconds of this process's finished children (spawnSync waits for them)
function childCpu() {
  const f = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
  return (Number(f[13]) + Number(f[14])) / 100
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const argValue = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt
}

async function s3Bench(servers) {
  let s3 = null
  const cephDir = path.join(work, 'ceph')
  try {
    s3 = await servers.startCeph(cephDir, ['xp-bench'])
  } catch (e) {
    console.error(`bench: Ceph did not start (${String(e.message).split('\n')[0]}); using s3rver`)
  }
  if (!s3) s3 = await servers.startS3rver(path.join(work, 's3rver'), ['xp-bench'])
  // the server's processes, for their CPU seconds during each client's run
  const serverPids =
    s3.kind === 'ceph'
      ? fs
          .readdirSync(path.join(cephDir, 'run'))
          .filter((f) => f.endsWith('.pid'))
          .map((f) => Number(fs.readFileSync(path.join(cephDir, 'run', f), 'utf8')))
      : []
  const serverCpu = () => serverPids.reduce((s, pid) => s + cpuOf(pid), 0)
  try {
    const repo = path.join(work, 'data-repo')
    fs.mkdirSync(repo)
    git(['init', '-q', '-b', 'main'], { cwd: repo })
    const data = path.join(repo, 'data')
    fs.mkdirSync(path.join(data, 'small'), { recursive: true })
    for (let i = 0; i < N_SMALL; i++) fs.writeFileSync(path.join(data, 'small', `${i}.bin`), randomBytes(16 * 1024))
    const fd = fs.openSync(path.join(data, 'big.bin'), 'w')
    for (let left = BIG; left > 0; left -= 8 << 20) fs.writeSync(fd, randomBytes(Math.min(left, 8 << 20)))
    fs.closeSync(fd)
    const totalBytes = N_SMALL * 16 * 1024 + BIG
    const s3env = { ...s3.env() }
    xp(['add', 'data'], { cwd: repo })
    const bare = servers.makeBare(work, 'data-remote.git')
    git(['remote', 'add', 'origin', bare], { cwd: repo })
    // the refs once, untimed: each timed push below moves the data alone, to a fresh prefix
    xp(['push', '--no-data'], { cwd: repo })
    // rclone settings first: it also warms the server up, untimed (the first writes to a
    // fresh Ceph memstore are several times slower, and would penalise whoever goes first)
    const rcloneEnv = servers.rcloneEnv(s3)
    const hasRclone = servers.rcloneAvailable()
    // (the small files only: Ceph's memstore holds 4 GiB, and each round stores 287 MiB per client)
    if (hasRclone) run('rclone', ['copy', '--transfers', '16', path.join(data, 'small'), 'x:xp-bench/warmup'], { env: rcloneEnv })
    // --repeat N rounds, alternating who goes first (the server warms up); medians
    const repeat = Number(argValue('--repeat', '1'))
    const jobs = argValue('-j', undefined)
    const timed = (fn) => {
      const c0 = childCpu()
      const s0 = serverCpu()
      const r = fn()
      return { ...r, cpu: childCpu() - c0, server: serverCpu() - s0 }
    }
    // --before DIR: that worktree's build pushes too, in the same rounds (a column)
    const before = argValue('--before', undefined)
    const xps = []
    const rcs = []
    const befores = []
    let res
    const pushWith = (bin, name, into) => {
      xp(['remote', 'add', name, `s3://xp-bench/${name}`, '--endpoint', s3.endpoint], { cwd: repo })
      const r = timed(() => run(process.execPath, [bin, 'push', '--json', '-r', name, ...(jobs ? ['-j', jobs] : [])], { cwd: repo, env: s3env }))
      into.push(r)
      return r
    }
    const doXp = (i) => (res = JSON.parse(pushWith(XP, `s3-${i}`, xps).stdout))
    const doBefore = (i) => pushWith(checkoutBin(before), `before-${i}`, befores)
    const doRclone = (i) => {
      rcs.push(timed(() => run('rclone', ['copy', '--transfers', '16', '--checkers', '16', data, `x:xp-bench/rclone-${i}`], { env: rcloneEnv })))
    }
    const clients = [doXp, ...(hasRclone ? [doRclone] : []), ...(before ? [doBefore] : [])]
    for (let i = 0; i < repeat; i++) for (let k = 0; k < clients.length; k++) clients[(i + k) % clients.length](i)
    const mb = totalBytes / 1e6
    const objects = res.data.transferred
    const m = (xs, k) => median(xs.map((x) => x[k]))
    const each = (xs) => xs.map((x) => x.s.toFixed(2)).join(' ')
    const x = { s: m(xps, 's'), cpu: m(xps, 'cpu'), server: m(xps, 'server') }
    const r = rcs.length ? { s: m(rcs, 's'), cpu: m(rcs, 'cpu'), server: m(rcs, 'server') } : undefined
    row(
      `S3 (${s3.kind}): ${N_SMALL} x 16 KiB + ${BIG >> 20} MiB, ${objects} objects`,
      x.s,
      'rclone copy',
      r?.s,
      `xp ${(mb / x.s).toFixed(0)} MB/s, rclone ${r ? (mb / r.s).toFixed(0) : '-'} MB/s${r ? `, xp/rclone rate ${(r.s / x.s).toFixed(2)}x` : ''}${repeat > 1 ? ` (medians of ${repeat}: xp ${each(xps)}; rclone ${each(rcs)})` : ''}`,
    )
    if (befores.length) {
      const b = { s: m(befores, 's'), cpu: m(befores, 'cpu'), server: m(befores, 'server') }
      row(
        `  the same push by ${before}`,
        b.s,
        'rclone copy',
        r?.s,
        `xp ${(mb / b.s).toFixed(0)} MB/s${r ? `, xp/rclone rate ${(r.s / b.s).toFixed(2)}x` : ''} (${each(befores)}); CPU s client / server ${b.cpu.toFixed(2)} / ${b.server.toFixed(2)}`,
      )
    }
    if (serverPids.length)
      row(
        `  CPU s: client / server (radosgw+osd+mon), server ms per object`,
        undefined,
        '',
        undefined,
        `xp ${x.cpu.toFixed(2)} / ${x.server.toFixed(2)} (${((x.server / objects) * 1000).toFixed(2)} ms)${r ? `; rclone ${r.cpu.toFixed(2)} / ${r.server.toFixed(2)} (${((r.server / objects) * 1000).toFixed(2)} ms)` : ''}`,
      )
    const again = xp(['push', '--json', '-r', 's3-0'], { cwd: repo, env: s3env })
    if (JSON.parse(again.stdout).data.transferred !== 0) throw new Error('push again moved objects: the listing missed some')
    row(`S3 (${s3.kind}): push again, nothing new (${N_SMALL + 2} objects checked)`, again.s, '', undefined, 'one listing')
  } finally {
    await s3.stop()
  }
}

function makeRuns(repo, n) {
  git(['init', '-q', '-b', 'main'], { cwd: repo })
  fs.writeFileSync(path.join(repo, 'train.py'), 'print(1)\n')
  git(['add', '-A'], { cwd: repo })
  git(['commit', '-qm', 'base'], { cwd: repo })
  const base = git(['rev-parse', 'HEAD'], { cwd: repo }).stdout.trim()
  const ALPHA = '0123456789abcdefghjkmnpqrstvwxyz'
  const t = Date.now() - n * 1000
  const lines = []
  for (let i = 0; i < n; i++) {
    let id = ''
    let x = t + i * 1000
    for (let k = 0; k < 10; k++) (id = ALPHA[x % 32] + id), (x = Math.floor(x / 32))
    for (let k = 0; k < 10; k++) id += ALPHA[Math.floor(Math.random() * 32)]
    const msg = `xp: run-${i} succeeded: python train.py\n\nxp: 1\nid: "${id}"\nname: "run-${i}"\nstatus: "succeeded"\ncommand: "python train.py"\nparams: {"lr": ${i / n}}\nmetrics: {"acc": ${Math.random()}}\n`
    lines.push(
      `commit refs/xp/runs/${id}\ncommitter Bench <bench@example.com> ${Math.floor((t + i * 1000) / 1000)} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}from ${base}\nM 100644 inline run.txt\ndata ${String(i).length + 1}\n${i}\n\n`,
    )
  }
  git(['fast-import', '--quiet'], { cwd: repo, input: lines.join('') })
  git(['pack-refs', '--all'], { cwd: repo })
  git(['gc', '-q'], { cwd: repo })
}

async function gitBench(servers) {
  const repo = path.join(work, 'runs-repo')
  fs.mkdirSync(repo)
  makeRuns(repo, N_RUNS)
  const r1 = servers.makeBare(work, 'runs-xp.git')
  const r2 = servers.makeBare(work, 'runs-git.git')
  const plain = git(['push', '-q', r2, 'refs/xp/runs/*:refs/xp/runs/*'], { cwd: repo })
  const mine = xp(['push', r1, '--json'], { cwd: repo })
  const res = JSON.parse(mine.stdout)
  if (res.runs.pushed !== N_RUNS) throw new Error(`pushed ${res.runs.pushed} of ${N_RUNS}`)
  row(`${N_RUNS} runs to a bare remote`, mine.s, 'git push', plain.s, `${(mine.s / plain.s).toFixed(2)}x (goal <= 1.3x)`)
  const noop = xp(['push', r1], { cwd: repo })
  const noopGit = git(['push', '-q', r2, 'refs/xp/runs/*:refs/xp/runs/*'], { cwd: repo })
  row(`push with nothing new (${N_RUNS} runs there)`, noop.s, 'git push', noopGit.s, 'goal < 0.5 s')
}

const servers = await loadServers()
try {
  const only = argValue('--only', process.argv.includes('--s3-only') ? 's3' : process.argv.includes('--git-only') ? 'git' : 'git,s3').split(',')
  if (only.includes('git')) await gitBench(servers)
  if (only.includes('s3')) await s3Bench(servers)
} finally {
  if (process.env.XP_BENCH_KEEP) console.error(`bench: kept ${work}`)
  else fs.rmSync(work, { recursive: true, force: true })
}
const w = Math.max(...rows.map((r) => r.what.length))
console.log(`${'benchmark'.padEnd(w)}  ${'xp'.padStart(9)}  ${'peer'.padStart(22)}  note`)
for (const r of rows)
  console.log(`${r.what.padEnd(w)}  ${fmt(r.xp).padStart(9)}  ${(r.peerName ? `${r.peerName} ${fmt(r.peer)}` : '').padStart(22)}  ${r.note}`)
