/**
 * Issue 16: the binary stat cache with folder snapshots, and the prefix-folder record that
 * lets `xp status` skip listing the cache. What a user must never see: a damaged cache
 * file trusted, an object gone from the cache reported present, a change missed, or a
 * no-op `xp add` writing anything. (Times are the bench's: bench/speed.mjs.)
 */
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TestRepo, cleanupTmp, tmpDir } from './helpers.js'

afterAll(cleanupTmp)

function folderRepo(n = 40) {
  const repo = new TestRepo({ files: { 'README.md': 'project\n' } })
  for (let i = 0; i < n; i++) repo.write(`data/d${i % 4}/f${i}.txt`, `file ${i}\n`)
  return repo
}

/** Rewrite a file's bytes but give it back its old mtime: only a reread could notice. */
function sneakyEdit(repo: TestRepo, file: string, content: string) {
  const st = fs.statSync(repo.path(file))
  expect(content.length).toBe(st.size)
  fs.writeFileSync(repo.path(file), content)
  fs.utimesSync(repo.path(file), 1e9, 1e9)
}

const status = (repo: TestRepo) => repo.json(['status'])[0]

/** The manifest's entries, from the cache. */
function manifest(repo: TestRepo): Array<{ path: string; oid: string }> {
  const oid = /oid: (\S+)/.exec(repo.read('data.xp'))![1]
  return JSON.parse(fs.readFileSync(repo.path('.xp/cache', oid.slice(0, 2), oid.slice(2)), 'utf8'))
}
const objectFile = (repo: TestRepo, oid: string) => repo.path('.xp/cache', oid.slice(0, 2), oid.slice(2))

describe('the stat cache file', () => {
  it('vouches while intact; damaged, truncated or from another version it is ignored and everything is hashed again', () => {
    const repo = folderRepo()
    fs.utimesSync(repo.path('data/d1/f1.txt'), 1e9, 1e9) // whole seconds: the sneaky edit below can give it back
    repo.json(['add', 'data'])
    const file = repo.path('.xp/stat-cache')
    const good = fs.readFileSync(file)
    // a change only a reread can see: the intact cache vouches for the old bytes
    sneakyEdit(repo, 'data/d1/f1.txt', 'FILE 1\n')
    expect(status(repo).state).toBe('unchanged')
    const damaged: Array<[string, Buffer]> = [
      ['one byte flipped in the middle', Buffer.from(good.map((b, i) => (i === Math.floor(good.length / 2) ? b ^ 1 : b)))],
      ['truncated', good.subarray(0, good.length - 9)],
      ['one byte too many', Buffer.concat([good, Buffer.from([0])])],
      ['an older text format', Buffer.from('xp-state 2\ndata/d1/f1.txt\t1\t2\t3\t' + '0'.repeat(32) + '\n')],
      ['empty', Buffer.alloc(0)],
    ]
    for (const [what, bytes] of damaged) {
      fs.writeFileSync(file, bytes)
      const s = status(repo)
      expect({ what, state: s.state, changes: s.changes }).toEqual({ what, state: 'modified', changes: [{ path: 'data/d1/f1.txt', change: 'modified' }] })
    }
  })
})

describe('upgrading from the text stat cache', () => {
  it('keeps its rows (nothing is reread), then replaces the old file', () => {
    const repo = folderRepo()
    fs.utimesSync(repo.path('data/d1/f1.txt'), 1e9, 1e9)
    repo.json(['add', 'data'])
    // the file an older xp would have left: a row per file, mtime in whole microseconds
    const rows = manifest(repo).map((e) => {
      const st = fs.statSync(repo.path('data', e.path))
      return `data/${e.path}\t${st.ino}\t${Math.round(st.mtimeMs * 1000)}\t${st.size}\t${e.oid}\n`
    })
    fs.rmSync(repo.path('.xp/stat-cache'))
    fs.writeFileSync(repo.path('.xp/state'), 'xp-state 2\n' + rows.join(''))
    sneakyEdit(repo, 'data/d1/f1.txt', 'FILE 1\n')
    expect(status(repo).state).toBe('unchanged') // the old rows vouched: f1 was not reread
    expect(repo.exists('.xp/state')).toBe(false)
    expect(status(repo).state).toBe('unchanged') // and still do, in the new file
  })
})

describe('xp status with a folder snapshot', () => {
  it('reports modified, added, deleted and renamed files after a status that recorded the snapshot', () => {
    const repo = folderRepo()
    repo.json(['add', 'data'])
    expect(status(repo).state).toBe('unchanged')
    expect(status(repo).state).toBe('unchanged')
    fs.renameSync(repo.path('data/d0/f0.txt'), repo.path('data/d0/g0.txt')) // same count, inode and mtime
    let s = status(repo)
    expect(s.changes).toEqual([
      { path: 'data/d0/f0.txt', change: 'deleted' },
      { path: 'data/d0/g0.txt', change: 'added' },
    ])
    fs.renameSync(repo.path('data/d0/g0.txt'), repo.path('data/d0/f0.txt'))
    expect(status(repo).state).toBe('unchanged')
    repo.write('data/d2/f2.txt', 'file 2 changed\n')
    fs.rmSync(repo.path('data/d3/f3.txt'))
    repo.write('data/d3/new.txt', 'new\n')
    s = status(repo)
    expect(s.state).toBe('modified')
    expect(s.changes).toEqual([
      { path: 'data/d2/f2.txt', change: 'modified' },
      { path: 'data/d3/f3.txt', change: 'deleted' },
      { path: 'data/d3/new.txt', change: 'added' },
    ])
    // the same again, now from the snapshot of the changed folder
    expect(status(repo).changes).toEqual(s.changes)
    // a whole subfolder gone
    fs.rmSync(repo.path('data/d1'), { recursive: true })
    expect(status(repo).changes.filter((c: any) => c.path.startsWith('data/d1/')).length).toBe(10)
  })

  it('still reports an object deleted from the cache after the status that recorded it, and its return', () => {
    const repo = folderRepo()
    repo.json(['add', 'data'])
    expect(status(repo).missing).toBe(0)
    expect(status(repo).missing).toBe(0) // now from the record of the prefix folders
    const [first, second] = manifest(repo)
    fs.rmSync(objectFile(repo, first.oid))
    expect(status(repo).missing).toBe(1)
    fs.rmSync(objectFile(repo, second.oid))
    expect(status(repo).missing).toBe(2)
    expect(status(repo).missing).toBe(2)
    repo.json(['add', 'data']) // heals
    expect(status(repo).missing).toBe(0)
    // the manifest itself
    const oid = /oid: (\S+)/.exec(repo.read('data.xp'))![1]
    fs.rmSync(objectFile(repo, oid))
    expect(status(repo)).toMatchObject({ state: 'unchanged', missing: 1 })
  })

  it('lists a prefix folder again when its mtime is not older than the listing (a change in the same clock tick)', () => {
    const repo = folderRepo()
    repo.json(['add', 'data'])
    const [e] = manifest(repo)
    const dir = repo.path('.xp/cache', e.oid.slice(0, 2))
    // a folder changed "now" as far as the file system's clock goes: its listing is not remembered
    const future = new Date(Date.now() + 3600_000)
    fs.utimesSync(dir, future, future)
    expect(status(repo).missing).toBe(0)
    // an object removed after that listing, the folder's mtime put back as it was: a record
    // would still match, so only a new listing sees the loss
    fs.rmSync(objectFile(repo, e.oid))
    fs.utimesSync(dir, future, future)
    expect(status(repo).missing).toBe(1)
  })

  it('ignores a record made for another cache folder', () => {
    const repo = folderRepo()
    repo.json(['add', 'data'])
    expect(status(repo).missing).toBe(0)
    const other = repo.path('other-cache')
    fs.cpSync(repo.path('.xp/cache'), other, { recursive: true })
    const [e] = manifest(repo)
    fs.rmSync(path.join(other, e.oid.slice(0, 2), e.oid.slice(2)))
    expect(repo.json(['status'], { env: { XP_CACHE_DIR: other } })[0].missing).toBe(1)
  })
})

describe('a no-op xp add', () => {
  it('writes nothing: not the pointer, the .gitignore or the stat cache; and still heals a grown object', () => {
    const repo = folderRepo()
    repo.json(['add', 'data'])
    repo.json(['add', 'data']) // the snapshot as add leaves it
    const files = ['data.xp', '.gitignore', '.xp/stat-cache']
    const before = files.map((f) => fs.statSync(repo.path(f), { bigint: true }))
    const [r] = repo.json(['add', 'data'])
    expect(r.files).toBe(40)
    files.forEach((f, i) => {
      const now = fs.statSync(repo.path(f), { bigint: true })
      expect({ f, ino: now.ino, mtime: now.mtimeNs }).toEqual({ f, ino: before[i].ino, mtime: before[i].mtimeNs })
    })
    // an object grown in place (its folder's mtime unchanged) is found by its size and stored again
    const [e] = manifest(repo)
    fs.chmodSync(objectFile(repo, e.oid), 0o644)
    fs.appendFileSync(objectFile(repo, e.oid), 'CORRUPT')
    repo.json(['add', 'data'])
    expect(fs.readFileSync(objectFile(repo, e.oid), 'utf8')).toBe(repo.read(`data/${e.path}`))
  })

  it('warns when git would ignore a pointer it writes, asked while the data is hashed; a no-op add runs only its two git checks', () => {
    const repo = folderRepo()
    repo.write('.gitignore', '*.xp\n')
    const r = repo.xp(['add', 'data'])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('data.xp is ignored by git')
    const real = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim()
    const bin = tmpDir('xp-gitlog-')
    const log = path.join(bin, 'calls.log')
    fs.writeFileSync(path.join(bin, 'git'), `#!/bin/sh\necho "$1" >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 })
    const env = { PATH: `${bin}:${repo.env.PATH}` }
    const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').sort() : [])
    // nothing to write: the pointer was warned about when it was written; the refusals are still checked
    const again = repo.xp(['add', 'data'], { env })
    expect(again.stderr).not.toContain('ignored by git')
    expect(calls()).toEqual(['ls-files', 'ls-files'])
    repo.write('.gitignore', 'other\n')
    repo.git('add', '-f', 'data/d0/f0.txt')
    const refused = repo.xp(['add', 'data'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('XP_TRACKED_BY_GIT')
    repo.git('rm', '-q', '--cached', 'data/d0/f0.txt')
    // a changed folder: its pointer is written, and checked again
    repo.write('.gitignore', '*.xp\n')
    repo.write('data/d0/f0.txt', 'changed\n')
    expect(repo.xp(['add', 'data']).stderr).toContain('data.xp is ignored by git')
  })
})
