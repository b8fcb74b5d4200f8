/**
 * Issue 10's faults, each as a user meets it through the CLI: stat cache trust, verify on
 * read, fsck of references, push of damaged copies, folder remotes that must exist, full
 * disks (a real tmpfs), signals around `xp run`.
 */
import { describe, it, expect, afterAll, afterEach } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TestRepo, errorCode, cleanupTmp, tmpDir } from './helpers.js'

afterAll(cleanupTmp)

const mounts: string[] = []
afterEach(() => {
  for (const m of mounts.splice(0)) spawnSync('umount', ['-l', m])
})

/** A tmpfs of `size` at dir (root only); false when it cannot be mounted here. */
function tmpfs(dir: string, size: string): boolean {
  fs.mkdirSync(dir, { recursive: true })
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  if (r.status !== 0) return false
  mounts.push(dir)
  return true
}

function objects(repo: TestRepo): Map<string, string> {
  const out = new Map<string, string>()
  const cache = repo.path('.xp/cache')
  if (!fs.existsSync(cache)) return out
  for (const top of fs.readdirSync(cache)) {
    if (!/^[0-9a-f]{2}$/.test(top)) continue
    for (const name of fs.readdirSync(path.join(cache, top))) out.set(top + name, path.join(cache, top, name))
  }
  return out
}

const oidOf = (repo: TestRepo, pointer: string) => /^oid: (\S+)$/m.exec(repo.read(pointer))![1]

function damage(file: string, how: 'flip' | 'append' | 'delete') {
  fs.chmodSync(file, 0o644)
  if (how === 'delete') fs.rmSync(file)
  else if (how === 'append') fs.appendFileSync(file, 'CORRUPT')
  else {
    const fd = fs.openSync(file, 'r+')
    fs.writeSync(fd, '#', 0)
    fs.closeSync(fd)
  }
}

function withRemotes() {
  const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
  const origin = tmpDir('xp-origin-')
  spawnSync('git', ['init', '-q', '--bare', origin])
  repo.git('remote', 'add', 'origin', origin)
  const store = tmpDir('xp-store-')
  expect(repo.xp(['remote', 'add', 'store', store, '--default']).code).toBe(0)
  return { repo, origin, store }
}

describe('the stat cache says "file has hash H", never "H is stored"', () => {
  it('status then add stores the changed file; the data survives losing the working copy', () => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    repo.write('data/f', 'v1\n')
    expect(repo.xp(['add', 'data']).code).toBe(0)
    repo.write('data/f', 'v1\nv2\n')
    expect(repo.xp(['status']).code).toBe(0)
    expect(repo.xp(['add', 'data']).code).toBe(0)
    const fsck = repo.xp(['fsck'])
    expect(fsck.code).toBe(0)
    fs.rmSync(repo.path('data'), { recursive: true })
    expect(repo.xp(['checkout']).code).toBe(0)
    expect(repo.read('data/f')).toBe('v1\nv2\n')
  })

  it('adding again heals an object deleted or truncated by hand', () => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    repo.write('m.bin', 'model\n')
    expect(repo.xp(['add', 'm.bin']).code).toBe(0)
    const file = objects(repo).get(oidOf(repo, 'm.bin.xp'))!
    damage(file, 'delete')
    expect(repo.xp(['add', 'm.bin']).code).toBe(0)
    expect(fs.readFileSync(file, 'utf8')).toBe('model\n')
    damage(file, 'append')
    expect(repo.xp(['add', 'm.bin']).code).toBe(0)
    expect(fs.readFileSync(file, 'utf8')).toBe('model\n')
  })
})

describe('every byte leaving the cache is verified', () => {
  it('checkout never writes a corrupt object: XP_CACHE_CORRUPT, the object removed, pull or add repairs', () => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    repo.write('data/a', 'alpha\n')
    repo.write('data/b', 'beta\n')
    expect(repo.xp(['add', 'data']).code).toBe(0)
    const objs = objects(repo)
    const aOid = [...objs.keys()].find((o) => fs.readFileSync(objs.get(o)!, 'utf8') === 'alpha\n')!
    damage(objs.get(aOid)!, 'flip')
    fs.rmSync(repo.path('data/a'))
    const r = repo.xp(['checkout', '--force'])
    expect(r.code).toBe(1)
    expect(errorCode(r)).toBe('XP_CACHE_CORRUPT')
    expect(r.stderr).toMatch(/xp pull/)
    expect(repo.exists('data/a')).toBe(false)
    expect(objects(repo).has(aOid)).toBe(false)
  })

  it('a missing object on a hardlink checkout says it is missing and how to get it back, not a link type', () => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    repo.write('data/a', 'alpha\n')
    expect(repo.xp(['add', 'data']).code).toBe(0)
    repo.write('.xp/config.local.yaml', 'cache:\n  type: hardlink\n')
    expect(repo.xp(['checkout']).code).toBe(0)
    const objs = objects(repo)
    const file = [...objs.entries()].find(([o]) => !o.endsWith('.dir'))![1]
    fs.rmSync(repo.path('data/a'))
    damage(file, 'delete')
    const r = repo.xp(['checkout'])
    expect(errorCode(r)).toBe('XP_CACHE_MISSING')
    expect(r.stderr).toMatch(/not in the cache/)
    expect(r.stderr).toMatch(/xp (pull|remote add|push)/)
    expect(r.stderr).not.toMatch(/cache\.type/)
  })

  it('push never uploads a corrupt object, and re-sends one the remote holds damaged', () => {
    const { repo, store } = withRemotes()
    repo.write('m.bin', 'model v1\n')
    expect(repo.xp(['add', 'm.bin']).code).toBe(0)
    expect(repo.xp(['push']).code).toBe(0)
    const oid = oidOf(repo, 'm.bin.xp')
    const remoteFile = path.join(store, oid.slice(0, 2), oid.slice(2))
    damage(remoteFile, 'append')
    expect(repo.xp(['push']).code).toBe(0)
    expect(fs.readFileSync(remoteFile, 'utf8')).toBe('model v1\n')

    repo.write('n.bin', 'model v2\n')
    expect(repo.xp(['add', 'n.bin']).code).toBe(0)
    const n = oidOf(repo, 'n.bin.xp')
    damage(objects(repo).get(n)!, 'flip')
    const r = repo.xp(['push'])
    expect(errorCode(r)).toBe('XP_CACHE_CORRUPT')
    expect(fs.existsSync(path.join(store, n.slice(0, 2), n.slice(2)))).toBe(false)
  })
})

describe('a folder remote moves small objects in batches and large ones by the kernel, verified (issue 16)', () => {
  /** every file below dir, relative, with its mode */
  const walk = (dir: string, rel = ''): Map<string, number> => {
    const out = new Map<string, number>()
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, d.name)
      if (d.isDirectory()) for (const [k, v] of walk(dir, r)) out.set(k, v)
      else out.set(r, fs.statSync(path.join(dir, r)).mode & 0o777)
    }
    return out
  }
  const big = Buffer.alloc(3 * 1024 * 1024 + 5, 1).fill(9, 1024 * 1024) // over the 1 MiB small-object limit

  it('push then a fresh clone pull + checkout: every object there read-only, no temporary, the data identical', () => {
    const { repo, store } = withRemotes()
    for (let i = 0; i < 300; i++) repo.write(`data/f${i}.txt`, `file ${i}\n`)
    repo.write('data/sub/big.bin', big)
    fs.chmodSync(repo.path('data/f7.txt'), 0o755)
    expect(repo.xp(['add', 'data']).code).toBe(0)
    expect(repo.xp(['push']).code).toBe(0)
    const there = walk(store)
    expect([...there.keys()].filter((k) => k.includes('.tmp'))).toEqual([])
    expect(there.size).toBe(302) // 300 small, the big one, the manifest
    expect(new Set(there.values())).toEqual(new Set([0o444]))
    expect(JSON.parse(repo.xp(['push', '--json']).stdout)).toBeTruthy() // a second push moves nothing
    expect(walk(store).size).toBe(302)

    repo.git('add', '-A')
    repo.git('commit', '-qm', 'data')
    const clone = new TestRepo({ init: false })
    clone.git('clone', '-q', repo.path(), '.')
    // the working tree is written as the objects arrive, each file with its stat-cache row: the checkout after it has nothing to do
    expect(clone.json(['pull']).checkedOut).toBe(301)
    expect(clone.json(['checkout'])[0]).toMatchObject({ written: 0, removed: 0, unchanged: 301 })
    expect(clone.json(['status'])[0]).toMatchObject({ state: 'unchanged', missing: 0 })
    expect([...walk(clone.path('data')).keys(), ...walk(clone.path('.xp/cache')).keys()].filter((k) => k.includes('.tmp'))).toEqual([])
    expect(fs.readFileSync(clone.path('data/sub/big.bin')).equals(big)).toBe(true)
    expect(clone.read('data/f299.txt')).toBe('file 299\n')
    expect(fs.statSync(clone.path('data/f7.txt')).mode & 0o777).toBe(0o755)
    expect(fs.statSync(clone.path('data/f8.txt')).mode & 0o777).toBe(0o644)
    expect(walk(clone.path('data')).size).toBe(301)
    expect([...walk(clone.path('.xp/cache')).keys()].filter((k) => !k.startsWith('tmp'))).toHaveLength(302)

    // a clone whose data path holds a file of its own: pull fetches, and leaves that path to checkout's rules (no overwrite)
    const mine = new TestRepo({ init: false })
    mine.git('clone', '-q', repo.path(), '.')
    mine.write('data/f1.txt', 'mine\n')
    const r = mine.xp(['pull'])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('left as it is')
    expect(mine.read('data/f1.txt')).toBe('mine\n')
    expect(mine.exists('data/f2.txt')).toBe(false)
    // a pull killed while it wrote the working tree left a whole file and a temporary one: the next pull finishes the job
    const killed = new TestRepo({ init: false })
    killed.git('clone', '-q', repo.path(), '.')
    const dead = spawnSync('true').pid!
    killed.write('data/f4.txt', 'file 4\n')
    killed.write(`data/.f3.txt.tmp-${dead}-0a1b2c3d-9`, 'fi')
    const again = killed.xp(['pull'])
    expect(again.code).toBe(0)
    expect(again.stderr).not.toContain('left as it is')
    expect(walk(killed.path('data')).size).toBe(301)
    expect(killed.read('data/f3.txt')).toBe('file 3\n')
    // hardlinks configured: the files are the cache's (read-only) objects, not copies
    const linked = new TestRepo({ init: false })
    linked.git('clone', '-q', repo.path(), '.')
    linked.write('.xp/config.local.yaml', 'cache:\n  type: hardlink\n')
    expect(linked.xp(['pull']).code).toBe(0)
    expect(fs.statSync(linked.path('data/f2.txt')).nlink).toBe(2)
    expect(linked.read('data/f2.txt')).toBe('file 2\n')
  })

  it('a corrupt large or small object is neither uploaded nor put in the cache', () => {
    const { repo, store } = withRemotes()
    repo.write('big.bin', big)
    repo.write('small.bin', 'small\n')
    expect(repo.xp(['add', 'big.bin', 'small.bin']).code).toBe(0)
    const b = oidOf(repo, 'big.bin.xp')
    const s = oidOf(repo, 'small.bin.xp')
    const atStore = (o: string) => path.join(store, o.slice(0, 2), o.slice(2))
    // in the cache: the push stops, names it, uploads no byte of it
    damage(objects(repo).get(b)!, 'flip')
    const r = repo.xp(['push'])
    expect(errorCode(r)).toBe('XP_CACHE_CORRUPT')
    expect(r.stderr).toContain(b)
    expect(fs.existsSync(atStore(b))).toBe(false)
    expect([...walk(store).keys()].filter((k) => k.includes('.tmp'))).toEqual([])
    // healed by adding again; then damaged on the remote: a fresh clone's pull refuses it
    expect(repo.xp(['add', 'big.bin']).code).toBe(0)
    expect(repo.xp(['push']).code).toBe(0)
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'data')
    for (const o of [b, s]) {
      damage(atStore(o), 'flip')
      const clone = new TestRepo({ init: false })
      clone.git('clone', '-q', repo.path(), '.')
      const pulled = clone.xp(['pull'])
      expect(errorCode(pulled)).toBe('XP_REMOTE_CORRUPT')
      expect(pulled.stderr).toContain(o)
      expect(objects(clone).has(o)).toBe(false)
      expect(clone.exists(o === b ? 'big.bin' : 'small.bin')).toBe(false) // nor written to the working tree
      fs.rmSync(atStore(o))
      expect(repo.xp(['push']).code).toBe(0) // the repair the error names: push it again
    }
  })
})

describe('xp fsck checks references', () => {
  it('names the run and the pointer that need a missing object, the repair, and exits 1; --remote checks the data remote', () => {
    const { repo } = withRemotes()
    repo.write('xp.yaml', 'deps: [data]\n' + repo.read('xp.yaml'))
    repo.write('data/a', 'alpha\n')
    expect(repo.xp(['add', 'data']).code).toBe(0)
    const run = JSON.parse(repo.xp(['run', '-n', 'first', '--json', '--', 'true']).stdout)
    expect(repo.xp(['fsck']).code).toBe(0)
    const remote = repo.xp(['fsck', '--remote', '--json'])
    expect(remote.code).toBe(1)
    expect(JSON.parse(remote.stdout).remote_missing.length).toBeGreaterThan(0)
    expect(repo.xp(['push']).code).toBe(0)
    expect(repo.xp(['fsck', '--remote']).code).toBe(0)

    const objs = objects(repo)
    const file = [...objs.entries()].find(([o]) => !o.endsWith('.dir'))!
    damage(file[1], 'delete')
    const r = repo.xp(['fsck'])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`missing: ${file[0]}`)
    expect(r.stdout).toContain(`run ${run.id}`)
    expect(r.stdout).toContain('worktree data.xp')
    expect(r.stdout).toMatch(/repair: .*xp pull/)
    const j = JSON.parse(repo.xp(['fsck', '--json']).stdout)
    expect(j.missing[0].oid).toBe(file[0])
  })
})

describe('a folder data remote must exist', () => {
  it('push to an absent folder fails with XP_REMOTE_UNREACHABLE and creates nothing; --create-remote makes it when the parent exists', () => {
    const { repo, origin } = withRemotes()
    repo.write('m.bin', 'model\n')
    expect(repo.xp(['add', 'm.bin']).code).toBe(0)
    const deep = path.join(tmpDir('xp-share-'), 'not', 'mounted')
    const r = repo.xp(['push', '-r', deep])
    expect(r.code).toBe(4)
    expect(errorCode(r)).toBe('XP_REMOTE_UNREACHABLE')
    expect(fs.existsSync(path.dirname(deep))).toBe(false)
    expect(spawnSync('git', ['for-each-ref'], { cwd: origin, encoding: 'utf8' }).stdout).toBe('')
    expect(errorCode(repo.xp(['push', '-r', deep, '--create-remote']))).toBe('XP_REMOTE_UNREACHABLE')
    const shallow = path.join(tmpDir('xp-share-'), 'new')
    expect(repo.xp(['push', '-r', shallow, '--create-remote']).code).toBe(0)
    expect(fs.readdirSync(shallow).length).toBeGreaterThan(0)
    expect(repo.xp(['remote', 'add', 'made', deep, '--create']).code).toBe(0)
    expect(fs.existsSync(deep)).toBe(true)
  })
})

describe('a full disk is a coded error naming the path, leaving nothing partial', () => {
  it('xp add of a big file and of many small files on a full cache: XP_DISK_FULL, no object, no pointer, no temporary', (ctx) => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    if (!tmpfs(repo.path('.xp/cache'), '2m')) return ctx.skip()
    repo.write('big.bin', Buffer.alloc(3 * 1024 * 1024, 7))
    let r = repo.xp(['add', 'big.bin'])
    expect(r.code).toBe(1)
    expect(errorCode(r)).toBe('XP_DISK_FULL')
    expect(r.stderr).toContain('big.bin')
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(repo.exists('big.bin.xp')).toBe(false)
    for (let i = 0; i < 40; i++) repo.write(`small/${i}`, Buffer.alloc(64 * 1024, i))
    r = repo.xp(['add', 'small'])
    expect(errorCode(r)).toBe('XP_DISK_FULL')
    expect(repo.exists('small.xp')).toBe(false)
    // (xp runs in this process: its marker for temporary files beside objects stays while it lives)
    expect(fs.readdirSync(repo.path('.xp/cache/tmp')).filter((n) => !(n.startsWith(`${process.pid}-`) && n.endsWith('-beside')))).toEqual([])
    for (const [oid, file] of objects(repo)) {
      const got = spawnSync('xxhsum', ['-H2', file], { encoding: 'utf8' }).stdout.split(/\s+/)[0]
      expect(got).toBe(oid.replace(/\.dir$/, ''))
    }
  })

  it('push of many small objects (written on two threads) to a full folder remote: XP_REMOTE_IO, nothing partial under a real name, no temporary; a later push completes, a clone pulls them', (ctx) => {
    const { repo, store } = withRemotes()
    if (!tmpfs(store, '2m')) return ctx.skip()
    for (let i = 0; i < 1200; i++) repo.write(`data/f${i}.bin`, Buffer.alloc(4 * 1024 + i, i % 251))
    fs.chmodSync(repo.path('data/f5.bin'), 0o755)
    expect(repo.xp(['add', 'data']).code).toBe(0)
    const two = { env: { XP_THREADS: '2' } } // the second thread whatever the machine's load
    const r = repo.xp(['push'], two)
    expect(r.code).not.toBe(0)
    expect(errorCode(r)).toBe('XP_REMOTE_IO')
    expect(r.stderr).toContain(store)
    const there: string[] = []
    for (const top of fs.readdirSync(store)) for (const name of fs.readdirSync(path.join(store, top))) there.push(path.join(store, top, name))
    expect(there.filter((f) => f.includes('.tmp'))).toEqual([])
    for (const f of there)
      expect(spawnSync('xxhsum', ['-H2', f], { encoding: 'utf8' }).stdout.split(/\s+/)[0]).toBe(
        path.basename(path.dirname(f)) + path.basename(f).replace(/\.dir$/, ''),
      )
    spawnSync('mount', ['-o', 'remount,size=16m', store])
    expect(repo.xp(['push'], two).code).toBe(0)
    expect(repo.xp(['fsck', '--remote']).code).toBe(0)
    // a fresh clone's pull writes the 1,200 files on two threads too: the same bytes and modes, nothing left to check out
    repo.git('add', '-A')
    repo.git('commit', '-qm', 'data')
    const clone = new TestRepo({ init: false })
    clone.git('clone', '-q', repo.path(), '.')
    expect(clone.json(['pull'], two).checkedOut).toBe(1200)
    for (const i of [0, 5, 777, 1199]) expect(fs.readFileSync(clone.path(`data/f${i}.bin`)).equals(Buffer.alloc(4 * 1024 + i, i % 251))).toBe(true)
    expect(fs.statSync(clone.path('data/f5.bin')).mode & 0o777).toBe(0o755)
    expect(fs.statSync(clone.path('data/f6.bin')).mode & 0o777).toBe(0o644)
    expect(clone.json(['checkout'])[0]).toMatchObject({ written: 0, unchanged: 1200 })
    expect(clone.xp(['fsck']).code).toBe(0)
  })

  it('a read-only cache is XP_DISK_READ_ONLY naming it, no pointer written', (ctx) => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    if (!tmpfs(repo.path('.xp/cache'), '2m')) return ctx.skip()
    if (spawnSync('mount', ['-o', 'remount,ro', repo.path('.xp/cache')]).status !== 0) return ctx.skip()
    repo.write('m.bin', 'model\n')
    const r = repo.xp(['add', 'm.bin'])
    expect(r.code).toBe(1)
    expect(errorCode(r)).toBe('XP_DISK_READ_ONLY')
    expect(r.stderr).toContain('.xp/cache')
    expect(repo.exists('m.bin.xp')).toBe(false)
  })

  it('xp run whose log fills the disk still records the run, its log cut with a notice', (ctx) => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    if (!tmpfs(repo.path('.xp/runs'), '1m')) return ctx.skip()
    const r = repo.xp(['run', '-n', 'loud', '--json', '--', 'sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x; echo; echo done'])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/log stopped at/)
    const rec = JSON.parse(r.stdout)
    expect(rec.status).toBe('succeeded')
    const log = spawnSync('git', ['show', `${rec.ref}:.xp-run/output.log`], { cwd: repo.dir, env: repo.env, encoding: 'utf8', maxBuffer: 64 << 20 }).stdout
    expect(log).toMatch(/^\[xp: the log was cut after \d+ bytes \(no space left/)
  })
})

describe('xp run and signals', () => {
  const waitFor = async (cond: () => boolean, ms = 10_000) => {
    const t = Date.now()
    while (!cond()) {
      if (Date.now() - t > ms) throw new Error('timed out')
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  it('a signal while deps are hashed stops the run before the command starts: nothing runs, nothing is recorded', async () => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n', 'xp.yaml': 'deps: [data]\n' } })
    for (let i = 0; i < 3000; i++) repo.write(`data/${i}`, `row ${i}\n`.repeat(20))
    const child = repo.spawnXp(['run', '--', 'touch', 'started'])
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    // once hashing has begun (objects arrive in the cache), Ctrl-C
    await waitFor(() => fs.existsSync(repo.path('.xp/cache')) && fs.readdirSync(repo.path('.xp/cache')).length > 3, 20_000)
    child.kill('SIGINT')
    const code = await new Promise<number | null>((r) => child.on('close', r))
    expect(code).toBe(130)
    expect(err).toContain('XP_INTERRUPTED')
    expect(repo.exists('started')).toBe(false)
    expect(repo.git('for-each-ref', 'refs/xp/runs')).toBe('')
  })

  for (const signal of ['SIGHUP', 'SIGTERM'] as const) {
    it(`${signal} while the command runs: recorded interrupted, xp stays to record it`, async () => {
      const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
      const child = repo.spawnXp(['run', '-n', 'long', '--', 'sh', '-c', 'echo started > started; exec sleep 30'])
      await waitFor(() => repo.exists('started'))
      child.kill(signal)
      const code = await new Promise<number | null>((r) => child.on('close', r))
      expect(code).toBe(130)
      const runs = repo.json(['show'])
      expect(runs).toHaveLength(1)
      expect(runs[0].status).toBe('interrupted')
    })
  }

  it('a command that deletes .xp/ mid-run is still recorded', () => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    const r = repo.xp(['run', '-n', 'wipe', '--json', '--', 'sh', '-c', 'echo before; rm -rf .xp; echo after'])
    expect(r.code).toBe(0)
    const rec = JSON.parse(r.stdout)
    expect(rec.status).toBe('succeeded')
    expect(repo.git('show', `${rec.ref}:.xp-run/output.log`)).toContain('after')
  })
})

describe('what xp add refuses, and the .gitignore lines it writes', () => {
  it('escapes wildcards, escapes and trailing spaces: exactly the added path is ignored', () => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    for (const n of ['a[1]', 'b*', 'c ', '!d', 'a1', 'bb']) repo.write(`${n}/x`, 'x\n')
    for (const n of ['a[1]', 'b*', 'c ', '!d']) expect(repo.xp(['add', `./${n}`]).code).toBe(0)
    const ignored = (p: string) => spawnSync('git', ['check-ignore', '-q', '--', p], { cwd: repo.dir, env: repo.env }).status === 0
    for (const n of ['a[1]', 'b*', 'c ', '!d']) expect(ignored(`${n}/x`)).toBe(true)
    expect(ignored('a1/x')).toBe(false)
    expect(ignored('bb/x')).toBe(false)
    repo.write('n/x\ny', 'x\n')
    expect(errorCode(repo.xp(['add', 'n/x\ny']))).toBe('XP_UNSAFE_PATH')
  })

  it('refuses overlapping data and .gitignore, writing nothing', () => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    repo.write('data/sub/x', 'x\n')
    repo.write('data/y', 'y\n')
    expect(repo.xp(['add', 'data']).code).toBe(0)
    const r = repo.xp(['add', 'data/sub'])
    expect(errorCode(r)).toBe('XP_OVERLAPPING_DATA')
    expect(repo.exists('data/sub.xp')).toBe(false)
    expect(errorCode(repo.xp(['add', 'other', 'other/in']))).toBeDefined()
    repo.write('two/in/x', 'x\n')
    expect(errorCode(repo.xp(['add', 'two', 'two/in']))).toBe('XP_OVERLAPPING_DATA')
    expect(repo.exists('two.xp')).toBe(false)
    repo.write('.gitignore', 'node_modules\n')
    expect(errorCode(repo.xp(['add', '.gitignore']))).toBe('XP_NOT_DATA')
    expect(repo.exists('.gitignore.xp')).toBe(false)
  })
})

describe('records and values from outside', () => {
  it('NaN and ±Infinity in metrics.json, .nan/.inf/1e999 and huge integers in params are read, kept and shown', () => {
    const repo = new TestRepo({
      files: { 'README.md': 'p\n', 'params.yaml': 'lr: .nan\nhi: .inf\nlo: -.inf\nover: 1e999\nseed: 123456789012345678901234567890\nn: 3\n' },
    })
    const py = 'import json; json.dump({"loss": float("nan"), "acc": 0.5, "up": float("inf"), "down": float("-inf")}, open("metrics.json", "w"))'
    const r = repo.xp(['run', '-n', 'odd', '--', 'python3', '-c', py])
    expect(r.code).toBe(0)
    expect(r.stderr).not.toMatch(/warning/)
    const record = repo.git('log', '-1', '--format=%B', 'refs/xp/runs/' + repo.git('for-each-ref', '--format=%(refname:lstrip=3)', 'refs/xp/runs').trim())
    expect(record).toContain('metrics: {"loss":NaN,"acc":0.5,"up":Infinity,"down":-Infinity}')
    expect(record).toContain('"seed":"123456789012345678901234567890"')
    const shown = repo.xp(['show', '--json']).stdout
    expect(shown).toMatch(/"loss": ?NaN/)
    expect(shown).toMatch(/"up": ?Infinity/)
    expect(shown).toMatch(/"over": ?Infinity/)
    const table = repo.xp(['show']).stdout
    expect(table).toMatch(/nan/i)
    expect(table).toContain('123456789012345678901234567890')
  })

  it('a malformed record (metrics: "notamap") is listed as damaged by show and diff, not a crash', () => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    expect(repo.xp(['run', '-n', 'good', '--', 'true']).code).toBe(0)
    const tree = repo.git('rev-parse', 'HEAD^{tree}').trim()
    const id = '01m8zzzzzzzzzzzzzzzz'
    const msg = `xp: bad succeeded: true\n\nxp: 1\nid: "${id}"\nname: "bad"\nstatus: "succeeded"\nparams: [1,2]\nmetrics: "notamap"\n`
    const commit = spawnSync('git', ['commit-tree', tree, '-m', msg], { cwd: repo.dir, env: repo.env, encoding: 'utf8' }).stdout.trim()
    repo.git('update-ref', `refs/xp/runs/${id}`, commit)
    const show = repo.xp(['show', '--json'])
    expect(show.code).toBe(0)
    const bad = JSON.parse(show.stdout).find((r: any) => r.name === 'bad')
    expect(bad.damaged).toEqual(['params', 'metrics'])
    const table = repo.xp(['show'])
    expect(table.code).toBe(0)
    expect(table.stderr).toMatch(/run bad .*damaged \(params, metrics/)
    expect(repo.xp(['diff', 'good', 'bad']).code).toBe(0)
  })

  it('a filter of 5,000 nested parentheses is a coded usage error', () => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n' } })
    expect(repo.xp(['run', '-n', 'one', '--', 'true']).code).toBe(0)
    const r = repo.xp(['show', '--filter', '('.repeat(5000) + 'status == "succeeded"' + ')'.repeat(5000)])
    expect(r.code).toBe(2)
    expect(errorCode(r)).toBe('XP_BAD_FILTER')
    expect(repo.xp(['show', '--filter', '((status == "succeeded"))']).code).toBe(0)
  })
})

describe('nothing writes into the cache except the cache', () => {
  it('xp run unshares hardlinked and symlinked deps and outs first: a command appending to them leaves the cache intact', () => {
    const repo = new TestRepo({ files: { 'README.md': 'p\n', 'xp.yaml': 'deps: [data]\nouts: [model.bin]\n' } })
    repo.write('data/train.csv', 'a,b\n')
    repo.write('model.bin', 'weights\n')
    expect(repo.xp(['add', 'data', 'model.bin']).code).toBe(0)
    repo.write('.xp/config.local.yaml', 'cache:\n  type: hardlink\n')
    fs.rmSync(repo.path('data'), { recursive: true })
    expect(repo.xp(['checkout']).code).toBe(0)
    repo.write('.xp/config.local.yaml', 'cache:\n  type: symlink\n')
    fs.rmSync(repo.path('model.bin'))
    expect(repo.xp(['checkout']).code).toBe(0)
    expect(fs.lstatSync(repo.path('model.bin')).isSymbolicLink()).toBe(true)
    const r = repo.xp(['run', '--', 'sh', '-c', 'echo x >> data/train.csv; echo y >> model.bin'])
    expect(r.code).toBe(0)
    expect(repo.read('data/train.csv')).toBe('a,b\nx\n')
    expect(repo.xp(['fsck']).code).toBe(0)
    fs.rmSync(repo.path('data'), { recursive: true })
    expect(repo.xp(['checkout', 'data']).code).toBe(0)
    expect(repo.read('data/train.csv')).toBe('a,b\n')
  })
})
