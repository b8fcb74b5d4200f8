// Benchmark of data versioning (issue 3): `xp add`, no-op add and status on one 1 GiB file
// and on 20,000 files of 4-64 KiB, beside `cp -r` (the floor) and `git lfs track` + `git add`
// (the peer), warm page cache. Also the read patterns docs/architecture.md#decisions-and-their-measurements measured. Never fails on time.
// Usage: node bench/data.mjs [--small] (after node scripts/build.mjs). Data lives under /tmp and is deleted.
import { spawnSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'

const XP = path.resolve(import.meta.dirname, '..', 'bin', 'xp.cjs')
const small = process.argv.includes('--small')
const BIG = small ? 128 * 1024 * 1024 : 1024 * 1024 * 1024
const NFILES = small ? 2000 : 20000
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-data-'))
const env = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: root,
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@x',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@x',
  NO_COLOR: '1',
}

function sh(cmd, args, cwd = root) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 1 << 28 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}
/**
 * Wall time, CPU time (user+sys of the whole process tree, from bash's `times`: the machine
 * is shared, so CPU time is the steadier figure) and peak resident memory (VmHWM of the
 * command, polled from /proc while it runs).
 */
function measure(cmd, args, cwd = root) {
  return new Promise((resolve, reject) => {
    const t = performance.now()
    const child = spawn('bash', ['-c', '"$@"; s=$?; times >&2; exit $s', 'bash', cmd, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    let hwm = 0
    child.stderr.on('data', (d) => (err += d))
    const poll = setInterval(() => {
      try {
        for (const pid of fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
          const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
          if (m) hwm = Math.max(hwm, Number(m[1]) * 1024)
        }
      } catch {}
    }, 10)
    child.on('close', (code) => {
      clearInterval(poll)
      const wall = (performance.now() - t) / 1000
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')}: ${err}`))
      const lines = err.trim().split('\n')
      const secs = (x) => {
        const m = /(\d+)m([\d.]+)s/.exec(x)
        return m ? Number(m[1]) * 60 + Number(m[2]) : 0
      }
      const [u, sy] = lines[lines.length - 1].split(/\s+/)
      resolve({ s: wall, cpu: secs(u) + secs(sy), rss: hwm })
    })
  })
}
function warm(dir) {
  spawnSync('sh', ['-c', `find "${dir}" -type f -print0 | xargs -0 cat > /dev/null`])
}
function gitRepo(name) {
  const d = path.join(root, name)
  fs.mkdirSync(d)
  sh('git', ['init', '-q', '-b', 'main'], d)
  return d
}
function ensureLfs() {
  if (spawnSync('git', ['lfs', 'version']).status === 0) return true
  spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'git-lfs'], { stdio: 'ignore' })
  return spawnSync('git', ['lfs', 'version']).status === 0
}

function makeBig(file) {
  const block = randomBytes(64 * 1024 * 1024)
  const fd = fs.openSync(file, 'w')
  for (let off = 0; off < BIG; off += block.length) {
    block.writeUInt32LE(off / block.length, 0)
    fs.writeSync(fd, block, 0, Math.min(block.length, BIG - off))
  }
  fs.closeSync(fd)
}
function makeMany(dir) {
  const pool = randomBytes(64 * 1024 + 16)
  let total = 0
  for (let i = 0; i < NFILES; i++) {
    const sub = path.join(dir, String(i % 100).padStart(2, '0'))
    if (i < 100) fs.mkdirSync(sub, { recursive: true })
    const size = 4096 + ((i * 2654435761) % (60 * 1024))
    const buf = Buffer.from(pool.subarray(i % 16, (i % 16) + size))
    buf.writeUInt32LE(i, 0)
    fs.writeFileSync(path.join(sub, `f${i}.bin`), buf)
    total += size
  }
  return total
}

const rows = []
const fmt = (m) => (m === null ? 'n/a' : `${m.s.toFixed(2)}/${m.cpu.toFixed(2)}`)
async function dataset(label, make, isDir) {
  const src = path.join(root, 'src-' + label)
  const bytes = make(src)
  const name = isDir ? 'data' : 'big.bin'
  warm(src)
  const cp = await measure('cp', ['-r', src, path.join(root, 'cp-' + label)])
  fs.rmSync(path.join(root, 'cp-' + label), { recursive: true, force: true })

  const repo = gitRepo('xp-' + label)
  fs.renameSync(src, path.join(repo, name))
  warm(path.join(repo, name))
  const add = await measure(process.execPath, [XP, 'add', name], repo)
  const noop = await measure(process.execPath, [XP, 'add', name], repo)
  const status = await measure(process.execPath, [XP, 'status'], repo)
  // touch one file: only it is rehashed
  let one = null
  if (isDir) {
    fs.appendFileSync(path.join(repo, name, '00', 'f0.bin'), 'x')
    one = await measure(process.execPath, [XP, 'add', name], repo)
  }

  let lfs = null
  if (ensureLfs()) {
    const lrepo = gitRepo('lfs-' + label)
    sh('git', ['lfs', 'install', '--local'], lrepo)
    fs.renameSync(path.join(repo, name), path.join(lrepo, name))
    fs.rmSync(repo, { recursive: true, force: true })
    warm(path.join(lrepo, name))
    lfs = await measure('sh', ['-c', `git lfs track '${isDir ? `${name}/**` : name}' >/dev/null && git add .gitattributes ${name}`], lrepo)
    fs.rmSync(lrepo, { recursive: true, force: true })
  } else fs.rmSync(repo, { recursive: true, force: true })
  rows.push({ label, bytes, cp, add, noop, status, one, lfs })
}

function readPatterns() {
  // docs/architecture.md#decisions-and-their-measurements: readSync into a reused buffer vs a read stream, for one big file
  const file = path.join(root, 'pattern.bin')
  makeBig(file)
  const buf = Buffer.allocUnsafe(1 << 20)
  let t = performance.now()
  const fd = fs.openSync(file, 'r')
  let pos = 0
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, pos)) > 0; ) pos += n
  fs.closeSync(fd)
  const sync = (performance.now() - t) / 1000
  return new Promise((resolve) => {
    t = performance.now()
    fs.createReadStream(file, { highWaterMark: 64 * 1024 })
      .on('data', () => {})
      .on('end', () => {
        const stream = (performance.now() - t) / 1000
        fs.rmSync(file)
        resolve({ sync, stream })
      })
  })
}

try {
  const gib = BIG / 2 ** 30
  await dataset('one-file', (p) => (makeBig(p), BIG), false)
  await dataset('many-files', (p) => makeMany(p), true)
  const rp = await readPatterns()
  // memory: a 4 GiB (sparse) file, whose size does not change what add holds in memory
  const mrepo = gitRepo('xp-memory')
  fs.writeFileSync(path.join(mrepo, 'huge.bin'), 'head')
  fs.truncateSync(path.join(mrepo, 'huge.bin'), small ? 2 ** 30 : 4 * 2 ** 30)
  const mem = await measure(process.execPath, [XP, 'add', 'huge.bin'], mrepo)
  fs.rmSync(mrepo, { recursive: true, force: true })
  const pad = (s, n) => String(s).padEnd(n)
  console.log(`\nxp data benchmark (${os.cpus().length} cores, warm page cache)${small ? ' [--small]' : ''}\n`)
  console.log('seconds as wall/cpu (cpu = user+sys of all processes; the machine is shared, so wall time varies with load)\n')
  console.log(
    pad('set', 24) +
      pad('cp -r (floor)', 15) +
      pad('xp add', 12) +
      pad('xp/cp wall', 11) +
      pad('git lfs+add', 13) +
      pad('lfs/xp wall', 12) +
      pad('no-op add', 11) +
      pad('status', 11) +
      pad('1 changed', 11) +
      'peak RSS of add',
  )
  for (const r of rows) {
    const name = r.label === 'one-file' ? `1 file, ${gib} GiB` : `${NFILES} files, ${(r.bytes / 2 ** 30).toFixed(2)} GiB`
    console.log(
      pad(name, 24) +
        pad(fmt(r.cp), 15) +
        pad(fmt(r.add), 12) +
        pad((r.add.s / r.cp.s).toFixed(2) + 'x', 11) +
        pad(fmt(r.lfs), 13) +
        pad(r.lfs ? (r.lfs.s / r.add.s).toFixed(1) + 'x' : 'n/a', 12) +
        pad(fmt(r.noop), 11) +
        pad(fmt(r.status), 11) +
        pad(fmt(r.one), 11) +
        `${(r.add.rss / 2 ** 20).toFixed(0)} MiB`,
    )
  }
  console.log(`\ngoals: xp add <= 1.5x cp -r; >= 5x faster than git lfs; no-op add and status of the many files < 0.3 s`)
  console.log(`memory: xp add of a ${small ? 1 : 4} GiB file: peak RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB (goal < 200 MB), ${fmt(mem)} s`)
  console.log(
    `read pattern, ${gib} GiB: readSync into a reused 1 MiB buffer ${(BIG / 1e9 / rp.sync).toFixed(1)} GB/s; createReadStream (64 KiB chunks) ${(BIG / 1e9 / rp.stream).toFixed(1)} GB/s`,
  )
} finally {
  fs.rmSync(root, { recursive: true, force: true })
}
