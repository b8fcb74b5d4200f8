import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TestRepo, errorCode, cleanupTmp, tmpDir, XP } from './helpers.js'

afterAll(cleanupTmp)

/** Every object in a repo's cache: oid -> absolute path. */
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

function xxhsum(file: string): string {
  const r = spawnSync('xxhsum', ['-H2', file], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`xxhsum failed: ${r.stderr}`)
  return r.stdout.split(/\s+/)[0]
}

function pointer(repo: TestRepo, file: string): Record<string, string | number> {
  const out: Record<string, string | number> = {}
  for (const line of repo.read(file).trim().split('\n')) {
    const [k, v] = line.split(': ')
    out[k] = /^\d+$/.test(v) ? Number(v) : v
  }
  return out
}

function dataRepo() {
  const repo = new TestRepo({ files: { 'README.md': 'project\n' } })
  repo.write('data/a.csv', 'x,y\n1,2\n')
  repo.write('data/sub/b.csv', 'x,y\n3,4\n')
  repo.write('data/run.sh', '#!/bin/sh\necho hi\n')
  fs.chmodSync(repo.path('data/run.sh'), 0o755)
  repo.write('model.bin', Buffer.alloc(2 * 1024 * 1024 + 7, 0x5a)) // over the small-file limit: the copy+hash path
  return repo
}

/** Rewrite a file's bytes but give it back its old mtime: only a reread could notice. */
function sneakyEdit(repo: TestRepo, file: string, content: string) {
  const st = fs.statSync(repo.path(file))
  expect(content.length).toBe(st.size)
  fs.writeFileSync(repo.path(file), content)
  fs.utimesSync(repo.path(file), 1e9, 1e9)
}

describe('xp add', () => {
  it('caches files and folders, writes pointers, ignores the data; objects match xxhsum -H2 and are read-only', () => {
    const repo = dataRepo()
    const added = repo.json(['add', 'data', 'model.bin'])
    expect(added.map((a: any) => a.path)).toEqual(['data', 'model.bin'])
    const p = pointer(repo, 'data.xp')
    expect(p).toMatchObject({ path: 'data', size: 8 + 8 + 18, files: 3 })
    expect(String(p.oid)).toMatch(/^[0-9a-f]{32}\.dir$/)
    expect(pointer(repo, 'model.bin.xp')).toEqual({ path: 'model.bin', oid: xxhsum(repo.path('model.bin')), size: 2 * 1024 * 1024 + 7 })
    expect(repo.read('.gitignore')).toBe('/data\n/model.bin\n')
    expect(repo.git('status', '--porcelain')).toBe('?? .gitignore\n?? data.xp\n?? model.bin.xp\n')

    const objs = objects(repo)
    expect(objs.size).toBe(5) // 3 files, 1 manifest, model.bin
    for (const [oid, file] of objs) {
      expect(fs.statSync(file).mode & 0o777).toBe(0o444)
      if (!oid.endsWith('.dir')) expect(xxhsum(file)).toBe(oid)
    }
    const manifest = JSON.parse(fs.readFileSync(objs.get(String(p.oid))!, 'utf8'))
    expect(manifest.map((e: any) => [e.path, e.mode])).toEqual([
      ['a.csv', 420],
      ['run.sh', 493],
      ['sub/b.csv', 420],
    ])
    expect(manifest[0].oid).toBe(xxhsum(repo.path('data/a.csv')))
  })

  it('re-adding unchanged data is a no-op found by the stat cache; a changed folder rehashes only changed files', () => {
    const repo = dataRepo()
    fs.utimesSync(repo.path('data/a.csv'), 1e9, 1e9)
    repo.json(['add', 'data'])
    const before = pointer(repo, 'data.xp').oid
    // same size and mtime, different bytes: xp must trust the stat cache and not reread
    sneakyEdit(repo, 'data/a.csv', 'x,y\n9,9\n')
    repo.json(['add', 'data'])
    expect(pointer(repo, 'data.xp').oid).toBe(before)
    // a real change to b.csv is seen; a.csv is still not reread
    repo.write('data/sub/b.csv', 'x,y\n3,4\n5,6\n')
    const [r] = repo.json(['add', 'data'])
    expect(r.oid).not.toBe(before)
    const m = JSON.parse(fs.readFileSync(objects(repo).get(r.oid)!, 'utf8'))
    expect(m.find((e: any) => e.path === 'a.csv').oid).not.toBe(xxhsum(repo.path('data/a.csv')))
    expect(m.find((e: any) => e.path === 'sub/b.csv').oid).toBe(xxhsum(repo.path('data/sub/b.csv')))
    // after losing the stat cache everything is reread: the sneaky edit shows
    fs.rmSync(repo.path('.xp/stat-cache'))
    const [again] = repo.json(['add', 'data'])
    const m2 = JSON.parse(fs.readFileSync(objects(repo).get(again.oid)!, 'utf8'))
    expect(m2.find((e: any) => e.path === 'a.csv').oid).toBe(xxhsum(repo.path('data/a.csv')))
    expect(m2.find((e: any) => e.path === 'a.csv').oid).not.toBe(m.find((e: any) => e.path === 'a.csv').oid)
  })

  it('refuses paths outside the repo, symlinks out of a tracked folder, and files git tracks; nothing is written', () => {
    const repo = dataRepo()
    const outside = tmpDir('xp-outside-')
    fs.writeFileSync(path.join(outside, 'secret'), 'secret\n')
    expect(errorCode(repo.xp(['add', outside]))).toBe('XP_UNSAFE_PATH')
    fs.symlinkSync(path.join(outside, 'secret'), repo.path('data/leak'))
    const r = repo.xp(['add', 'data'])
    expect(r.code).toBe(1)
    expect(errorCode(r)).toBe('XP_UNSAFE_PATH')
    expect(repo.exists('data.xp')).toBe(false)
    fs.symlinkSync(outside, repo.path('linked'))
    expect(errorCode(repo.xp(['add', 'linked']))).toBe('XP_UNSAFE_PATH')
    expect(errorCode(repo.xp(['add', 'README.md']))).toBe('XP_TRACKED_BY_GIT')
    expect(errorCode(repo.xp(['add', 'nope']))).toBe('XP_PATH_NOT_FOUND')
    // a symlink to a file inside the folder is followed
    fs.rmSync(repo.path('data/leak'))
    fs.symlinkSync('a.csv', repo.path('data/alias.csv'))
    const [ok] = repo.json(['add', 'data'])
    expect(ok.files).toBe(4)
  })

  it('two adds of overlapping data at once both succeed', async () => {
    const repo = dataRepo()
    for (let i = 0; i < 300; i++) repo.write(`data/many/f${i}.txt`, `file ${i}\n`.repeat(50))
    fs.cpSync(repo.path('data'), repo.path('copy'), { recursive: true })
    const run = (args: string[]) =>
      new Promise<number>((resolve) => {
        const p = repo.spawnXp(args)
        p.stderr.resume()
        p.stdout.resume()
        p.on('close', (c) => resolve(c ?? 1))
      })
    const codes = await Promise.all([run(['add', 'data']), run(['add', 'data', 'copy']), run(['add', 'copy'])])
    expect(codes).toEqual([0, 0, 0])
    expect(pointer(repo, 'data.xp').oid).toBe(pointer(repo, 'copy.xp').oid)
    expect(repo.xp(['fsck']).code).toBe(0)
    expect(repo.json(['status']).every((s: any) => s.state === 'unchanged' && s.missing === 0)).toBe(true)
    expect(
      repo
        .read('.gitignore')
        .split('\n')
        .filter((l) => l === '/data').length,
    ).toBe(1)
  })

  it('a killed add leaves no partial object under a real name, and the next command cleans up', async () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    const block = Buffer.alloc(1024 * 1024)
    for (let i = 0; i < block.length; i++) block[i] = (i * 7919) & 0xff
    const fd = fs.openSync(repo.path('big.bin'), 'w')
    for (let i = 0; i < 384; i++) fs.writeSync(fd, block)
    fs.closeSync(fd)
    const tmp = repo.path('.xp/cache/tmp')
    const child = repo.spawnXp(['add', 'big.bin'])
    child.stderr.resume()
    const killed = await new Promise<boolean>((resolve) => {
      const t = setInterval(() => {
        if (fs.existsSync(tmp) && fs.readdirSync(tmp).length) {
          child.kill('SIGKILL')
          clearInterval(t)
          resolve(true)
        }
      }, 2)
      child.on('close', () => {
        clearInterval(t)
        resolve(false)
      })
    })
    await new Promise((r) => (child.exitCode !== null || child.signalCode ? r(null) : child.on('close', r)))
    if (killed) expect(fs.readdirSync(tmp).length).toBeGreaterThan(0)
    expect(repo.exists('big.bin.xp')).toBe(false)
    // whatever is under a real name is whole
    for (const [oid, file] of objects(repo)) expect(xxhsum(file)).toBe(oid)
    expect(repo.xp(['status']).code).toBe(0)
    expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).toEqual([])
    repo.json(['add', 'big.bin'])
    expect(repo.xp(['fsck']).code).toBe(0)
  })

  it('a write killed mid-way leaves a temporary file beside its object: the next status removes it, it is never taken for the object, fsck stays clean', () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    for (let i = 0; i < 3; i++) repo.write(`data/f${i}`, `file ${i}\n`)
    expect(repo.xp(['add', 'data']).code).toBe(0)
    // what a writer killed while writing two objects leaves (its pid is gone): a half-written
    // temporary file beside f0's object (in the cache) and beside f1's (deleted, as if not yet written), and its marker
    const dead = spawnSync('true').pid!
    const [o0, o1] = [0, 1].map((i) => xxhsum(repo.path(`data/f${i}`)))
    const beside = (oid: string) => repo.path(`.xp/cache/${oid.slice(0, 2)}/.${oid.slice(2)}.tmp-${dead}-0a1b2c3d-7`)
    fs.rmSync(repo.path(`.xp/cache/${o1.slice(0, 2)}/${o1.slice(2)}`), { force: true })
    fs.writeFileSync(beside(o0), 'file')
    fs.writeFileSync(beside(o1), 'fi')
    const marker = repo.path(`.xp/cache/tmp/${dead}-0a1b2c3d4e5f-beside`)
    fs.writeFileSync(marker, '')
    // a live writer's temporary file is left alone
    const live = repo.path(`.xp/cache/${o0.slice(0, 2)}/.${o0.slice(2)}.tmp-${process.pid}-0a1b2c3d-8`)
    fs.writeFileSync(live, 'fil')
    const st = repo.json(['status'])
    expect(st[0].missing).toBe(1) // f1's temporary file is not its object
    expect(fs.existsSync(beside(o0))).toBe(false)
    expect(fs.existsSync(beside(o1))).toBe(false)
    expect(fs.existsSync(live)).toBe(true)
    expect(fs.existsSync(marker)).toBe(false)
    fs.rmSync(live)
    const fsck = repo.xp(['fsck', '--json'])
    expect(fsck.code).toBe(1) // f1's object is missing, named; nothing else
    expect(JSON.parse(fsck.stdout).missing.map((m: { oid: string }) => m.oid)).toEqual([o1])
    expect(repo.xp(['add', 'data']).code).toBe(0)
    expect(repo.xp(['fsck']).code).toBe(0)
    for (const [oid, file] of objects(repo)) expect(xxhsum(file)).toBe(oid.replace(/\.dir$/, ''))
    // a command (a process of its own) that wrote objects beside their names leaves no marker and no temporary file behind
    fs.rmSync(repo.path('data'), { recursive: true })
    expect(repo.xp(['checkout']).code).toBe(0)
    repo.write('data/f3', 'file 3\n')
    expect(spawnSync(process.execPath, [XP, 'add', 'data'], { cwd: repo.path(), env: repo.env }).status).toBe(0)
    expect(fs.readdirSync(repo.path('.xp/cache/tmp')).filter((n) => !(n.startsWith(`${process.pid}-`) && n.endsWith('-beside')))).toEqual([]) // (xp's calls above ran in this process)
    expect([...objects(repo).keys()].filter((k) => k.includes('.tmp-'))).toEqual([])
  })

  it('streams: adding a 512 MiB file keeps the process under 200 MB of memory', async () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    fs.writeFileSync(repo.path('huge.bin'), 'head')
    fs.truncateSync(repo.path('huge.bin'), 2 ** 29) // sparse: cheap to make, read like any file
    const child = repo.spawnXp(['add', 'huge.bin'])
    child.stderr.resume()
    let peak = 0
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        if (m) peak = Math.max(peak, Number(m[1]) * 1024)
      } catch {
        // exited
      }
    }, 5)
    const code = await new Promise((r) => child.on('close', r))
    clearInterval(poll)
    expect(code).toBe(0)
    expect(peak).toBeGreaterThan(0)
    expect(peak).toBeLessThan(200 * 1024 * 1024)
    expect(pointer(repo, 'huge.bin.xp').oid).toBe(xxhsum(repo.path('huge.bin')))
  })

  it('a file that changes while it is hashed is a clear error, not a wrong hash', async () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    repo.write('growing.log', Buffer.alloc(64 * 1024 * 1024, 1))
    const { spawn } = await import('node:child_process')
    const w = spawn(process.execPath, [
      '-e',
      `const fs=require('fs');const b=Buffer.alloc(4096,2);setInterval(()=>{for(let i=0;i<8;i++)fs.appendFileSync(${JSON.stringify(repo.path('growing.log'))},b)},1)`,
    ])
    try {
      await new Promise((r) => setTimeout(r, 200))
      // The writer must run while xp hashes, which the scheduler decides: a try in which it did
      // not may succeed, and must then have recorded the bytes it stored (never a wrong hash).
      // Across a few tries, the change is seen and refused with nothing written.
      let refused = 0
      for (let attempt = 0; attempt < 6 && !refused; attempt++) {
        const r = repo.xp(['add', 'growing.log'])
        if (r.code === 0) {
          const oid = String(pointer(repo, 'growing.log.xp').oid)
          expect(xxhsum(repo.path('.xp', 'cache', oid.slice(0, 2), oid.slice(2)))).toBe(oid)
          fs.rmSync(repo.path('growing.log.xp'))
          continue
        }
        expect(errorCode(r)).toBe('XP_FILE_CHANGED')
        expect(r.code).toBe(1)
        expect(repo.exists('growing.log.xp')).toBe(false)
        refused++
      }
      expect(refused).toBe(1)
    } finally {
      w.kill('SIGKILL')
    }
  })
})

describe('xp add while the data is written', () => {
  const writer = async (code: string) => {
    const { spawn } = await import('node:child_process')
    const w = spawn(process.execPath, ['-e', code])
    await new Promise((r) => setTimeout(r, 200))
    return w
  }
  const leftovers = (repo: TestRepo) => (fs.existsSync(repo.path('.xp/cache/tmp')) ? fs.readdirSync(repo.path('.xp/cache/tmp')) : [])

  it('a large file rewritten in place during the overlapped copy is refused: no object, no temporary file, no pointer', async () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    const file = repo.path('live.bin')
    repo.write('live.bin', Buffer.alloc(48 * 1024 * 1024, 1)) // the kernel copies it while xp hashes it
    // same size all along: only the mtime tells
    const w = await writer(
      `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(file)},'r+');let i=0;setInterval(()=>{for(let j=0;j<4;j++)fs.writeSync(fd,Buffer.alloc(4096,i++%250),0,4096,(i*7919%12000)*4096)},1)`,
    )
    try {
      let refused = 0
      for (let attempt = 0; attempt < 6 && !refused; attempt++) {
        const r = repo.xp(['add', 'live.bin'])
        if (r.code === 0) {
          // the writer did not run during this try: what was stored is what was hashed
          const oid = String(pointer(repo, 'live.bin.xp').oid)
          expect(xxhsum(objects(repo).get(oid)!)).toBe(oid)
          fs.rmSync(repo.path('live.bin.xp'))
          continue
        }
        expect(errorCode(r)).toBe('XP_FILE_CHANGED')
        expect(repo.exists('live.bin.xp')).toBe(false)
        for (const [oid, f] of objects(repo)) expect(xxhsum(f)).toBe(oid)
        expect(leftovers(repo)).toEqual([])
        refused++
      }
      expect(refused).toBe(1)
    } finally {
      w.kill('SIGKILL')
    }
  })

  it('a small file rewritten between the listing of its folder and its read is refused, never recorded with the size listed', async () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    for (let i = 0; i < 600; i++) repo.write(`data/f${i}.txt`, `row ${i}\n`.repeat(30))
    const file = repo.path('data/live.txt')
    repo.write('data/live.txt', 'a')
    // a new size every millisecond; each write is whole (one small write), so any read sees one version
    const w = await writer(`const fs=require('fs');let i=0;setInterval(()=>{fs.writeFileSync(${JSON.stringify(file)},'b'.repeat(1+(i++%300)))},1)`)
    try {
      let refused = 0
      for (let attempt = 0; attempt < 6 && !refused; attempt++) {
        const r = repo.xp(['add', 'data'])
        if (r.code !== 0) {
          expect(errorCode(r)).toBe('XP_FILE_CHANGED')
          expect(repo.exists('data.xp')).toBe(false)
          refused++
          continue
        }
        // an add that succeeded lists every file with its object's size
        const oid = String(pointer(repo, 'data.xp').oid)
        const manifest = JSON.parse(fs.readFileSync(objects(repo).get(oid)!, 'utf8')) as Array<{ path: string; oid: string; size: number }>
        for (const e of manifest) expect([e.path, fs.statSync(objects(repo).get(e.oid)!).size]).toEqual([e.path, e.size])
        fs.rmSync(repo.path('data.xp'))
        fs.rmSync(repo.path('.xp/state'), { force: true })
      }
      expect(refused).toBe(1)
      for (const [oid, f] of objects(repo)) if (!oid.endsWith('.dir')) expect(xxhsum(f)).toBe(oid)
    } finally {
      w.kill('SIGKILL')
    }
  })
})

describe('xp status', () => {
  it('reports modified, added and deleted files inside folders, deleted data and objects not in the cache; exit 0', () => {
    const repo = dataRepo()
    repo.json(['add', 'data', 'model.bin'])
    expect(repo.xp(['status']).stdout).toBe('data up to date (2 pointers)\n')
    repo.write('data/a.csv', 'changed\n')
    repo.write('data/new.csv', 'new\n')
    fs.rmSync(repo.path('data/sub/b.csv'))
    fs.rmSync(repo.path('model.bin'))
    const r = repo.xp(['status'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('modified: data\n    modified: data/a.csv\n    added: data/new.csv\n    deleted: data/sub/b.csv\ndeleted: model.bin\n')
    const s = repo.json(['status'])
    expect(s.map((x: any) => [x.path, x.state])).toEqual([
      ['data', 'modified'],
      ['model.bin', 'deleted'],
    ])
    // an object lost from the cache
    const oid = String(pointer(repo, 'model.bin.xp').oid)
    fs.rmSync(objects(repo).get(oid)!)
    const s2 = repo.json(['status', 'model.bin'])
    expect(s2).toEqual([{ path: 'model.bin', pointer: 'model.bin.xp', oid, state: 'deleted', changes: [], missing: 1 }])
    expect(repo.xp(['status', 'model.bin']).stdout).toContain('not in cache: model.bin')
  })
})

describe('xp checkout', () => {
  it('restores data, refuses to lose uncached changes without --force, removes files no longer listed', () => {
    const repo = dataRepo()
    repo.json(['add', 'data', 'model.bin'])
    const a = repo.read('data/a.csv')
    fs.rmSync(repo.path('data'), { recursive: true })
    fs.rmSync(repo.path('model.bin'))
    repo.xp(['checkout'])
    expect(repo.read('data/a.csv')).toBe(a)
    expect(fs.statSync(repo.path('data/run.sh')).mode & 0o777).toBe(0o755)
    expect(xxhsum(repo.path('model.bin'))).toBe(pointer(repo, 'model.bin.xp').oid)
    // local edits not in the cache are kept unless --force
    repo.write('data/a.csv', 'precious\n')
    repo.write('data/extra.csv', 'also precious\n')
    const r = repo.xp(['checkout', 'data'])
    expect(r.code).toBe(1)
    expect(errorCode(r)).toBe('XP_CHECKOUT_CONFLICT')
    expect(repo.read('data/a.csv')).toBe('precious\n')
    repo.xp(['checkout', '--force', 'data'])
    expect(repo.read('data/a.csv')).toBe(a)
    expect(repo.exists('data/extra.csv')).toBe(false)
    // a file whose content is cached may be replaced and removed freely
    repo.write('data/extra.csv', 'cached\n')
    repo.json(['add', 'data'])
    const withExtra = pointer(repo, 'data.xp').oid
    fs.rmSync(repo.path('data/extra.csv'))
    repo.json(['add', 'data'])
    repo.write('data/extra.csv', 'cached\n')
    expect(repo.xp(['checkout', 'data.xp']).code).toBe(0)
    expect(repo.exists('data/extra.csv')).toBe(false)
    expect(withExtra).not.toBe(pointer(repo, 'data.xp').oid)
  })

  it('links by the configured type; a hardlinked file cannot corrupt the cache', () => {
    const repo = dataRepo()
    repo.json(['add', 'data', 'model.bin'])
    repo.write('.xp/config.local.yaml', 'cache:\n  type: hardlink\n')
    fs.rmSync(repo.path('data'), { recursive: true })
    repo.xp(['checkout'])
    const oid = JSON.parse(fs.readFileSync(objects(repo).get(String(pointer(repo, 'data.xp').oid))!, 'utf8'))[0].oid
    expect(fs.statSync(repo.path('data/a.csv')).ino).toBe(fs.statSync(objects(repo).get(oid)!).ino)
    expect(fs.statSync(repo.path('data/a.csv')).mode & 0o777).toBe(0o444)
    if (process.getuid?.() !== 0) expect(() => fs.writeFileSync(repo.path('data/a.csv'), 'oops')).toThrow(/EACCES/)
    repo.write('.xp/config.local.yaml', 'cache:\n  type: symlink\n')
    fs.rmSync(repo.path('model.bin'))
    repo.xp(['checkout', 'model.bin'])
    expect(fs.lstatSync(repo.path('model.bin')).isSymbolicLink()).toBe(true)
    expect(repo.json(['status']).every((s: any) => s.state === 'unchanged')).toBe(true)
    repo.write('.xp/config.local.yaml', 'cache:\n  type: teleport\n')
    expect(errorCode(repo.xp(['checkout', '--force']))).toBe('XP_BAD_CONFIG')
  })

  it('refuses pointers and manifests that escape the repository, writing nothing', () => {
    const repo = dataRepo()
    repo.json(['add', 'data', 'model.bin'])
    fs.rmSync(repo.path('model.bin'))
    const outside = tmpDir('xp-outside-')
    const oid = pointer(repo, 'model.bin.xp').oid
    const bad = (text: string) => {
      repo.write('evil.xp', text)
      const r = repo.xp(['checkout'])
      expect(r.code).toBe(1)
      expect(errorCode(r)).toBe('XP_UNSAFE_PATH')
      expect(repo.exists('model.bin')).toBe(false) // not even the good pointer's data
    }
    bad(`path: ../../escape\noid: ${oid}\nsize: 1\n`)
    bad(`path: ${outside}/abs\noid: ${oid}\nsize: 1\n`)
    bad(`path: .git/hooks/pre-commit\noid: ${oid}\nsize: 1\n`)
    fs.symlinkSync(outside, repo.path('link'))
    bad(`path: link/through\noid: ${oid}\nsize: 1\n`)
    // a manifest naming ../ inside a correctly hashed object
    const evil = Buffer.from(`[{"path":"../../escape","oid":"${oid}","size":1,"mode":420}]`)
    const f = path.join(outside, 'manifest')
    fs.writeFileSync(f, evil)
    const h = xxhsum(f)
    fs.mkdirSync(repo.path('.xp/cache', h.slice(0, 2)), { recursive: true })
    fs.writeFileSync(repo.path('.xp/cache', h.slice(0, 2), h.slice(2) + '.dir'), evil)
    bad(`path: innocent\noid: ${h}.dir\nsize: 1\nfiles: 1\n`)
    expect(fs.readdirSync(outside).sort()).toEqual(['manifest'])
    expect(fs.existsSync(path.join(repo.dir, '..', 'escape'))).toBe(false)
    expect(fs.existsSync(path.join(repo.dir, '..', '..', 'escape'))).toBe(false)
  })
})

describe('xp gc and xp fsck', () => {
  it('gc spares unreferenced objects younger than the grace period, which a concurrent add may be writing', () => {
    const repo = dataRepo()
    repo.write('scratch.bin', 'not referenced yet\n')
    repo.json(['add', 'scratch.bin'])
    fs.rmSync(repo.path('scratch.bin.xp'))
    const r = repo.xp(['gc'])
    expect(r.stdout).toMatch(/removed 0 objects.*1 unreferenced but newer than --grace 3600s kept/)
    expect(repo.json(['gc', '--dry-run'])).toMatchObject({ removed: 0, recent: 1 })
    // an object made old, then stored again by an add, is young again and kept
    const [[oid, file]] = [...objects(repo)]
    const old = new Date(Date.now() - 7200_000)
    fs.utimesSync(file, old, old)
    expect(repo.json(['gc', '--dry-run'])).toMatchObject({ removed: 1, recent: 0 })
    repo.write('again.bin', 'not referenced yet\n')
    expect(repo.json(['add', 'again.bin'])[0].oid).toBe(oid)
    fs.rmSync(repo.path('again.bin.xp'))
    expect(repo.json(['gc'])).toMatchObject({ removed: 0, recent: 1 })
    expect(repo.xp(['gc', '--grace', '-1']).code).toBe(2)
  })

  it('gc keeps what runs, tags, branches and pointers reference and frees the rest', () => {
    const repo = dataRepo()
    repo.json(['add', 'model.bin'])
    const v1 = String(pointer(repo, 'model.bin.xp').oid)
    repo.git('add', 'model.bin.xp', '.gitignore')
    repo.git('commit', '-q', '-m', 'model v1')
    repo.git('tag', '-a', 'churn@v1.0.0', '-m', 'registered')
    repo.git('rm', '-q', 'model.bin.xp')
    repo.git('commit', '-q', '-m', 'drop model')
    // a run that records an out
    repo.write('xp.yaml', 'outs: [out.bin]\n')
    repo.xp(['run', '--', 'node', '-e', "require('fs').writeFileSync('out.bin', 'run output\\n')"])
    const runOut = xxhsum(repo.path('out.bin'))
    // data nothing references any more
    repo.write('model.bin', 'version two\n')
    repo.json(['add', 'model.bin'])
    repo.write('model.bin', 'version three\n')
    repo.json(['add', 'model.bin'])
    const v3 = String(pointer(repo, 'model.bin.xp').oid)
    const dry = repo.json(['gc', '--dry-run', '--grace', '0'])
    expect(dry).toMatchObject({ removed: 1, bytes: 'version two\n'.length, dry_run: true })
    expect(objects(repo).size).toBe(4)
    const r = repo.xp(['gc', '--grace', '0'])
    expect(r.stdout).toBe('removed 1 object, 12 B freed; 3 kept\n')
    expect([...objects(repo).keys()].sort()).toEqual([v1, runOut, v3].sort())
    // without the tag, v1 goes; without the run, its out goes
    repo.git('tag', '-d', 'churn@v1.0.0')
    repo.xp(['rm', repo.git('for-each-ref', '--format=%(refname:lstrip=3)', 'refs/xp/runs').trim()])
    expect(repo.json(['gc', '--grace', '0'])).toMatchObject({ removed: 2, kept: 1 })
    expect([...objects(repo).keys()]).toEqual([v3])
    // data whose pointer is gone is collected, and adding it again stores it again
    repo.write('data/a.csv', 'again\n')
    repo.json(['add', 'data'])
    fs.rmSync(repo.path('data.xp'))
    expect(repo.json(['gc', '--grace', '0']).removed).toBeGreaterThan(0)
    repo.json(['add', 'data'])
    expect(repo.json(['status']).every((x: any) => x.missing === 0)).toBe(true)
    expect(repo.xp(['checkout', '--force']).code).toBe(0)
  })

  it('fsck names an object with a flipped byte and exits non-zero', () => {
    const repo = dataRepo()
    repo.json(['add', 'data', 'model.bin'])
    expect(repo.xp(['fsck']).stdout).toMatch(/^checked 5 objects \(.*\): all good\n$/)
    const oid = String(pointer(repo, 'model.bin.xp').oid)
    const file = objects(repo).get(oid)!
    fs.chmodSync(file, 0o644)
    const fd = fs.openSync(file, 'r+')
    const b = Buffer.alloc(1)
    fs.readSync(fd, b, 0, 1, 1000)
    b[0] ^= 1
    fs.writeSync(fd, b, 0, 1, 1000)
    fs.closeSync(fd)
    const r = repo.xp(['fsck'])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`corrupt: ${oid}`)
    const j = JSON.parse(repo.xp(['fsck', '--json']).stdout)
    expect(j.corrupt.map((c: any) => c.oid)).toEqual([oid])
    expect(j.checked).toBe(5)
  })
})

describe('runs with data', () => {
  it('records deps and outs by oid, commits pointers instead of their bytes, caches large untracked files, and apply restores them', () => {
    const repo = new TestRepo({
      files: {
        'xp.yaml': 'deps: [data]\nouts: [models/model.bin]\nsnapshot: {max_file_size: 1000}\n',
        '.gitignore': 'models/\n',
        'train.cjs': `const fs=require('fs');fs.mkdirSync('models',{recursive:true});fs.writeFileSync('models/model.bin','weights '+fs.readFileSync('data/t.csv','utf8'));fs.writeFileSync('big.log','x'.repeat(5000))`,
      },
    })
    repo.write('data/t.csv', 'a,b\n1,2\n')
    repo.json(['add', 'data'])
    repo.git('add', '-A')
    repo.git('commit', '-q', '-m', 'track data')
    const res = repo.xp(['run', '--json', '--', 'node', 'train.cjs'])
    expect(res.code).toBe(0)
    const run = JSON.parse(res.stdout)
    expect(run.deps.data).toEqual({ oid: pointer(repo, 'data.xp').oid, size: 8, files: 1 })
    expect(run.outs['models/model.bin']).toEqual({ oid: xxhsum(repo.path('models/model.bin')), size: 16 })
    const tree = repo.git('ls-tree', '-r', '--name-only', run.commit).trim().split('\n')
    expect(tree).toContain('models/model.bin.xp')
    expect(tree).toContain('big.log.xp')
    expect(tree).not.toContain('models/model.bin')
    expect(tree).not.toContain('big.log')
    expect(tree).not.toContain('data/t.csv')
    expect(repo.git('show', `${run.commit}:big.log.xp`)).toBe(`path: big.log\noid: ${xxhsum(repo.path('big.log'))}\nsize: 5000\n`)
    // the run's data comes back with apply
    fs.rmSync(repo.path('models'), { recursive: true })
    fs.rmSync(repo.path('big.log'))
    const applied = repo.json(['apply', run.id])
    expect(applied.data.sort()).toEqual(['big.log', 'data', 'models/model.bin'])
    expect(repo.read('models/model.bin')).toBe('weights a,b\n1,2\n')
    expect(repo.read('big.log')).toBe('x'.repeat(5000))
    expect(repo.git('status', '--porcelain')).not.toContain('big.log\n')
  })
})
