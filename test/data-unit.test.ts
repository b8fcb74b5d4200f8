import { describe, it, expect } from 'vitest'
import { encodeManifest, decodeManifest, safeRelPath } from '../src/core/cache/manifest.js'
import { Oid, objectPath } from '../src/core/cache/oid.js'
import { encodePointer, decodePointer } from '../src/core/cache/pointer.js'
import { parse as parseYaml } from 'yaml'
import { hasher, hashBytes } from '../src/core/cache/hash.js'
import { diffManifests } from '../src/core/cache/status.js'
import { parseTree } from '../src/core/cache/reachable.js'
import { linkTypes } from '../src/core/cache/materialize.js'

const H = 'eefac9d87100cd1336b2e733a5484425' // xxhsum -H2 of "hello world\n"
const code = (f: () => unknown) => {
  try {
    f()
  } catch (e) {
    return (e as { code?: string }).code
  }
  return undefined
}

describe('hash', () => {
  it('is XXH3-128 as xxhsum -H2 prints it (canonical byte order)', async () => {
    expect(hashBytes(await hasher(), Buffer.from('hello world\n'))).toBe(H)
    expect(hashBytes(await hasher(), Buffer.alloc(0))).toBe('99aa06d3014798d86001c324468d497f')
  })
})

describe('Oid', () => {
  it('parses file and manifest oids and lays them out like DVC', () => {
    expect(Oid.parse(H).isDir).toBe(false)
    const d = Oid.parse(H + '.dir')
    expect(d.isDir).toBe(true)
    expect(d.key).toBe(`ee/${H.slice(2)}.dir`)
    expect(objectPath('/c', H)).toBe(`/c/ee/${H.slice(2)}`)
  })
  it('refuses anything else', () => {
    for (const bad of ['', 'EEFAC9D87100CD1336B2E733A5484425', H.slice(1), H + '.txt', '../' + H.slice(3), H + 'x'])
      expect(code(() => Oid.parse(bad))).toBe('XP_BAD_OID')
  })
})

describe('manifest', () => {
  const entries = [
    { path: 'b/z.csv', oid: H, size: 12, mode: 420 },
    { path: 'a.csv', oid: H, size: 12, mode: 493 },
    { path: 'b/é.csv', oid: H, size: 1, mode: 420 },
  ]
  it('is canonical: sorted by path bytes, fixed key order, no whitespace', () => {
    const text = encodeManifest(entries).toString()
    expect(text).toBe(
      `[{"path":"a.csv","oid":"${H}","size":12,"mode":493},{"path":"b/z.csv","oid":"${H}","size":12,"mode":420},{"path":"b/é.csv","oid":"${H}","size":1,"mode":420}]`,
    )
    expect(encodeManifest([...entries].reverse()).equals(encodeManifest(entries))).toBe(true)
    expect(decodeManifest(text)).toEqual([entries[1], entries[0], entries[2]])
  })
  it('rejects paths that could escape on read', () => {
    for (const p of ['../x', 'a/../../x', '/etc/passwd', 'a//b', '', 'a/./b', 'C:/x', 'a\\..\\b', 'a/', '.git/config', 'd/.GIT/hooks/x']) {
      expect(code(() => decodeManifest(JSON.stringify([{ path: p, oid: H, size: 1, mode: 420 }])))).toBe('XP_UNSAFE_PATH')
    }
  })
  it('rejects malformed manifests', () => {
    expect(code(() => decodeManifest('{'))).toBe('XP_BAD_MANIFEST')
    expect(code(() => decodeManifest('{}'))).toBe('XP_BAD_MANIFEST')
    expect(code(() => decodeManifest(JSON.stringify([{ path: 'a', oid: 'nope', size: 1, mode: 420 }])))).toBe('XP_BAD_MANIFEST')
    expect(
      code(() =>
        decodeManifest(
          JSON.stringify([
            { path: 'a', oid: H, size: 1, mode: 420 },
            { path: 'a/b', oid: H, size: 1, mode: 420 },
          ]),
        ),
      ),
    ).toBe('XP_BAD_MANIFEST')
    expect(code(() => encodeManifest([entries[0], entries[0]]))).toBe('XP_BAD_MANIFEST')
  })
  it('safeRelPath accepts ordinary names', () => {
    expect(safeRelPath('data/train.csv')).toBe('data/train.csv')
    expect(safeRelPath('..data')).toBe('..data')
  })
})

describe('pointer', () => {
  it('round-trips, quoting names YAML would misread', () => {
    for (const name of ['train', 'my data.csv', 'yes', '123', '1e5', '0x1f', 'n', '.hidden', 'a: b', '#x', 'ünï']) {
      const p = { path: name, oid: H + '.dir', size: 5, files: 2 }
      expect(decodePointer(encodePointer(p), 'x.xp')).toEqual(p)
    }
    expect(encodePointer({ path: 'train', oid: H, size: 5 })).toBe(`path: train\noid: ${H}\nsize: 5\n`)
    // any YAML reader agrees: what xp writes parses to the same strings with the yaml library
    expect(parseYaml(encodePointer({ path: '1e5', oid: H, size: 5 })).path).toBe('1e5')
  })
  it('reads pointers written by hand in other YAML styles', () => {
    expect(decodePointer(`{path: train, oid: ${H}, size: 5}\n`, 'x.xp')).toEqual({ path: 'train', oid: H, size: 5 })
    expect(decodePointer(`# data\npath:   'train'\noid: ${H}\nsize: 5 # bytes\n`, 'x.xp')).toEqual({ path: 'train', oid: H, size: 5 })
  })
  it('refuses unsafe paths and bad fields', () => {
    expect(code(() => decodePointer(`path: ../x\noid: ${H}\nsize: 1\n`, 'p.xp'))).toBe('XP_UNSAFE_PATH')
    expect(code(() => decodePointer(`path: /etc\noid: ${H}\nsize: 1\n`, 'p.xp'))).toBe('XP_UNSAFE_PATH')
    expect(code(() => decodePointer(`path: x\noid: abc\nsize: 1\n`, 'p.xp'))).toBe('XP_BAD_POINTER')
    expect(code(() => decodePointer(`path: x\noid: ${H}\nsize: -1\n`, 'p.xp'))).toBe('XP_BAD_POINTER')
    expect(code(() => decodePointer(`[`, 'p.xp'))).toBe('XP_BAD_POINTER')
  })
})

describe('diffManifests', () => {
  it('names modified, added and deleted files in path order', () => {
    const e = (path: string, oid: string) => ({ path, oid, size: 1, mode: 420 })
    expect(diffManifests([e('a', '1'), e('b', '1'), e('c', '1')], [e('a', '1'), e('b', '2'), e('d', '1')])).toEqual([
      { path: 'b', change: 'modified' },
      { path: 'c', change: 'deleted' },
      { path: 'd', change: 'added' },
    ])
  })
})

describe('parseTree', () => {
  it('reads raw git tree entries', () => {
    const id = Buffer.alloc(20, 0xab)
    const buf = Buffer.concat([Buffer.from('100644 a.xp\0'), id, Buffer.from('40000 dir\0'), id])
    expect(parseTree(buf, 20)).toEqual([
      { mode: '100644', name: 'a.xp', oid: 'ab'.repeat(20) },
      { mode: '40000', name: 'dir', oid: 'ab'.repeat(20) },
    ])
  })
})

describe('linkTypes', () => {
  it('takes a comma list and refuses unknown types', () => {
    expect(linkTypes('reflink, copy')).toEqual(['reflink', 'copy'])
    expect(code(() => linkTypes('teleport'))).toBe('XP_BAD_CONFIG')
  })
})

describe('StatCache', () => {
  it('vouches for a file only while inode, mtime and size match, survives a save, and forgets deleted objects', async () => {
    const fs = await import('node:fs')
    const os = await import('node:os')
    const path = await import('node:path')
    const { StatCache } = await import('../src/core/cache/state.js')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-state-'))
    try {
      const st = { ino: 42, mtimeMs: 1700000000123.456, size: 10 }
      const s = StatCache.load(dir)
      s.set('data/a b.csv', st, H)
      s.set('tab\tname', st, H) // any name but one with a NUL (none on disk) is recorded
      s.set('bad\0name', st, H) // not cacheable: silently skipped
      s.save()
      const t = StatCache.load(dir)
      expect(t.get('data/a b.csv', st)).toBe(H)
      expect(t.get('data/a b.csv', { ...st, size: 11 })).toBeUndefined()
      expect(t.get('data/a b.csv', { ...st, mtimeMs: st.mtimeMs + 1 })).toBeUndefined()
      expect(t.get('data/a b.csv', { ...st, ino: 43 })).toBeUndefined()
      expect(t.get('tab\tname', st)).toBe(H)
      expect(t.get('bad\0name', st)).toBeUndefined()
      t.dropOids(new Set([H, H + '.dir']))
      t.save()
      const u = StatCache.load(dir)
      expect(u.get('data/a b.csv', st)).toBeUndefined()
      fs.writeFileSync(path.join(dir, 'stat-cache'), 'garbage')
      expect(StatCache.load(dir).get('data/a b.csv', st)).toBeUndefined()
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('StatCache folder snapshots', () => {
  it('round-trips snapshots, loose rows and prefix records; a changed or deleted row ends its snapshot, a new one replaces it', async () => {
    const fs = await import('node:fs')
    const os = await import('node:os')
    const path = await import('node:path')
    const { StatCache } = await import('../src/core/cache/state.js')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-state-'))
    try {
      const G = '0123456789abcdef0123456789abcdef'
      const e = (rel: string, ino: number, oid = H) => ({ rel, ino, mtimeMs: 1700000000123.456 + ino, size: ino * 10, mode: 420, oid })
      const st = (x: ReturnType<typeof e>) => ({ ino: x.ino, mtimeMs: x.mtimeMs, size: x.size })
      const entries = [e('a.csv', 1), e('sub/b.csv', 2, G), e('é ü/c', 3)]
      const s = StatCache.load(dir)
      s.set('model.bin', st(e('x', 9)), G)
      s.setSnapshot('data', `${G}.dir`, 123, entries)
      s.setObjectsListedAt('data', '/cache', new Float64Array(512).fill(7))
      s.save()
      const t = StatCache.load(dir)
      const snap = t.snapshot('data')!
      expect([snap.oid, snap.count, snap.manifestBytes, snap.names]).toEqual([`${G}.dir`, 3, 123, 'a.csv\0sub/b.csv\0é ü/c\0'])
      expect(t.get('data/sub/b.csv', st(entries[1]))).toBe(G)
      expect(t.get('data/é ü/c', st(entries[2]))).toBe(H)
      expect(t.get('model.bin', st(e('x', 9)))).toBe(G)
      expect(t.objectsListedAt('data', '/cache')?.[5]).toBe(7)
      expect(t.objectsListedAt('data', '/other')).toBeNull()
      // a row that now says something else: the snapshot no longer stands for the folder
      t.set('data/a.csv', { ...st(entries[0]), size: 11 }, G)
      expect(t.snapshot('data')).toBeUndefined()
      expect(t.get('data/sub/b.csv', st(entries[1]))).toBe(G)
      t.save()
      const u = StatCache.load(dir)
      expect(u.snapshot('data')).toBeUndefined()
      expect(u.get('data/a.csv', { ...st(entries[0]), size: 11 })).toBe(G)
      expect(u.get('data/sub/b.csv', st(entries[1]))).toBe(G)
      // a new walk replaces the rows of files gone from it
      u.setSnapshot('data', `${H}.dir`, 50, [e('a.csv', 4)])
      u.save()
      const v = StatCache.load(dir)
      expect(v.snapshot('data')?.count).toBe(1)
      expect(v.get('data/sub/b.csv', st(entries[1]))).toBeUndefined()
      expect(v.get('model.bin', st(e('x', 9)))).toBe(G)
      v.delete('model.bin')
      v.dropOids(new Set([H]))
      v.save()
      const w = StatCache.load(dir)
      expect(w.get('model.bin', st(e('x', 9)))).toBeUndefined()
      expect(w.snapshot('data')).toBeUndefined()
      expect(w.get('data/a.csv', st(e('a.csv', 4)))).toBeUndefined()
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('putFile for downloads', () => {
  it('verifies the expected oid, keeps a manifest its .dir, and stores nothing on a mismatch', async () => {
    const fs = await import('node:fs')
    const os = await import('node:os')
    const path = await import('node:path')
    const { putFile, tempPath, hasObject } = await import('../src/core/cache/objects.js')
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-cache-'))
    try {
      const dl = tempPath(cache)
      fs.writeFileSync(dl, 'hello world\n')
      expect(await putFile(cache, dl, { move: true, expect: H + '.dir' })).toEqual({ oid: H + '.dir', size: 12, added: true })
      expect(hasObject(cache, H + '.dir')).toBe(true)
      expect(hasObject(cache, H)).toBe(false)
      expect(fs.existsSync(dl)).toBe(false)
      const bad = tempPath(cache)
      fs.writeFileSync(bad, 'hello world?')
      await expect(putFile(cache, bad, { move: true, expect: H })).rejects.toMatchObject({ code: 'XP_HASH_MISMATCH' })
      expect(hasObject(cache, H)).toBe(false)
      expect(fs.existsSync(bad)).toBe(false)
    } finally {
      fs.rmSync(cache, { recursive: true, force: true })
    }
  })
})

describe('missingObjects (issue 16: one listing of the cache instead of a stat per object)', () => {
  it('names exactly the absent oids, by listing for a large set and by stat for a small one', async () => {
    const fs = await import('node:fs')
    const os = await import('node:os')
    const path = await import('node:path')
    const { putBytes, missingObjects } = await import('../src/core/cache/objects.js')
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-missing-'))
    try {
      const stored: string[] = []
      for (let i = 0; i < 700; i++) stored.push(await putBytes(cache, Buffer.from(`object ${i}`), { dir: i % 100 === 0 }))
      const h = await hasher()
      const absent = Array.from({ length: 50 }, (_, i) => hashBytes(h, Buffer.from(`never stored ${i}`)))
      absent.push(`${hashBytes(h, Buffer.from('a manifest never stored'))}.dir`)
      fs.rmSync(objectPath(cache, stored[3]!))
      fs.rmSync(objectPath(cache, stored[100]!)) // a .dir one
      const want = [...stored, ...absent, stored[5]!]
      const expected = [...absent, stored[3]!, stored[100]!].sort()
      expect(missingObjects(cache, want).sort()).toEqual(expected)
      expect(missingObjects(cache, [stored[3]!, stored[4]!, absent[0]!]).sort()).toEqual([stored[3]!, absent[0]!].sort())
    } finally {
      fs.rmSync(cache, { recursive: true, force: true })
    }
  })
})

describe('a fresh clone writes on two threads', () => {
  it("gives the download a writer with a thread once the folder's manifest names its files (a pull's second round)", async () => {
    const fs = await import('node:fs')
    const path = await import('node:path')
    const { TestRepo } = await import('./helpers.js')
    const { FreshCheckout } = await import('../src/core/cache/materialize.js')
    const { SECOND_THREAD_FROM } = await import('../src/core/second-writer.js')
    const repo = new TestRepo({ files: { 'a.txt': 'a\n' } })
    for (let i = 0; i < SECOND_THREAD_FROM + 10; i++) repo.write(`data/f${i}.txt`, `${i}\n`)
    expect(repo.xp(['add', 'data']).code).toBe(0)
    const oid = /oid: (\S+)/.exec(repo.read('data.xp'))![1]
    fs.rmSync(repo.path('data'), { recursive: true })
    const xpDir = path.join(repo.dir, '.xp')
    const fresh = new FreshCheckout({ root: repo.dir, cacheDir: path.join(xpDir, 'cache'), xpDir, ctx: { env: {} } } as never, [
      { dataPath: 'data', pointerFile: 'data.xp', oid, size: 0 } as never,
    ])
    // the first round: the manifest alone is fetched, the files are not known yet
    expect(fresh.sharedWriter(1).mayThread).toBe(false)
    await fresh.plan()
    expect(fresh.sharedWriter(SECOND_THREAD_FROM + 10).mayThread).toBe(true)
    await fresh.finish()
  })
})
