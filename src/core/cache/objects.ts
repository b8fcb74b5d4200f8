/**
 * The object store: `.xp/cache/<2>/<30>[.dir]`, each object written under a temporary name
 * in `<cache>/tmp/` and renamed into place, then read-only (0444) so that a hardlinked
 * workspace file cannot corrupt it (docs/architecture.md#principles, 2.3). A process killed at any moment leaves
 * only a temporary file, which `cleanTemp` removes on the next command.
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Stats } from 'node:fs'
import { XpError, diskError } from '../errors.js'
import { hasher, hashBytes, hashFile, SMALL_FILE } from './hash.js'
import { Oid, objectPath, DIR_SUFFIX } from './oid.js'

const TEMP_DIR = 'tmp'
const STALE_MS = 24 * 3600 * 1000
const madeDirs = new Set<string>()

export interface PutResult {
  oid: string
  size: number
  /** false when the object was in the cache already */
  added: boolean
}

export interface StagedPut extends PutResult {
  /** the source's stat when it was read */
  stat: Stats
  /** settles once the object is in place (small files are written in the background) */
  written: Promise<void>
}

function mkdirOnce(dir: string) {
  if (madeDirs.has(dir)) return
  try {
    fs.mkdirSync(dir, { recursive: true })
  } catch (e) {
    // a recursive mkdir on a read-only or full file system says ENOENT: ask once more for the real reason
    try {
      fs.mkdirSync(dir)
    } catch (again) {
      throw diskError(again, dir)
    }
    throw diskError(e, dir)
  }
  madeDirs.add(dir)
}

let tempSeq = 0
let tempTag: string | undefined

/** A fresh temporary name in the cache, carrying our pid so others know when it is stale. */
export function tempPath(cacheDir: string): string {
  const dir = path.join(cacheDir, TEMP_DIR)
  mkdirOnce(dir)
  tempTag ??= randomBytes(6).toString('hex')
  return path.join(dir, `${process.pid}-${tempTag}-${++tempSeq}`)
}

const done = Promise.resolve()

export function hasObject(cacheDir: string, oid: Oid | string): boolean {
  return fs.existsSync(objectPath(cacheDir, oid))
}

/**
 * The oids of `oids` that are not in the cache, checked now. Many oids are checked with one
 * listing of the prefix folders they fall in (a `readdir` of ~80 names costs about what one
 * `stat` does: 20,000 objects, 256 listings instead of 20,000 stats); few, or a cache far
 * larger than the set (estimated from one folder), one stat each.
 */
export function missingObjects(cacheDir: string, oids: Iterable<string>): string[] {
  const want = [...new Set(oids)]
  if (want.length < 512) return want.filter((o) => !hasObject(cacheDir, o))
  let sample = 0
  try {
    sample = fs.readdirSync(path.join(cacheDir, want[0]!.slice(0, 2))).length
  } catch {
    // no such folder yet
  }
  if (sample * 256 > want.length * 20) return want.filter((o) => !hasObject(cacheDir, o))
  const byPrefix = new Map<string, string[]>()
  for (const o of want) {
    const p = o.slice(0, 2)
    const list = byPrefix.get(p)
    if (list) list.push(o)
    else byPrefix.set(p, [o])
  }
  const out: string[] = []
  for (const [p, list] of byPrefix) {
    let names: Set<string>
    try {
      names = new Set(fs.readdirSync(path.join(cacheDir, p)))
    } catch {
      names = new Set()
    }
    for (const o of list) if (!names.has(o.slice(2))) out.push(o)
  }
  return out
}

/** The size of a stored object, or -1 when it is absent. */
export function storedSize(cacheDir: string, oid: Oid | string): number {
  try {
    return fs.lstatSync(objectPath(cacheDir, oid)).size
  } catch {
    return -1
  }
}

/**
 * True when the object is stored already and intact: the same size, and the same bytes
 * when the caller holds them (`bytes`) or asks for a rehash (`verify`, for a large file
 * that was just read anyway). Its mtime is then refreshed, so that a `gc` running at the
 * same moment sees it as recent and keeps it (gc spares young objects). A damaged object
 * is not reused: the caller writes a good one over it, so adding again heals the cache.
 */
async function reuseObject(cacheDir: string, oid: string, check: { size: number; bytes?: Uint8Array; verify?: boolean }): Promise<boolean> {
  const file = objectPath(cacheDir, oid)
  if (storedSize(cacheDir, oid) !== check.size) return false
  try {
    if (check.bytes && !fs.readFileSync(file).equals(check.bytes)) return false
    if (check.verify && !check.bytes && (await hashFile(file)).hash !== Oid.parse(oid).hash) return false
    const now = new Date()
    fs.utimesSync(file, now, now)
    return true
  } catch {
    return false
  }
}

/** Rename a complete temporary file into place, read-only. Losing a race to a twin is fine: same bytes. */
function commit(cacheDir: string, tmp: string, oid: string) {
  const dest = objectPath(cacheDir, oid)
  mkdirOnce(path.dirname(dest))
  fs.renameSync(tmp, dest)
}

/**
 * Store a file's bytes in the cache under their hash. Small files are read once and their
 * bytes written from memory; large ones are copied by the kernel (a reflink where the file
 * system can) while this thread hashes them, so the two overlap on two cores. With `move`
 * the source itself is renamed into the cache (a download already on the same disk).
 * `expect` makes a mismatching hash an XP_HASH_MISMATCH error, nothing stored.
 *
 * @example
 * const { oid, size } = await putFile(repo.cacheDir, 'data/train.csv')
 */
export async function putFile(cacheDir: string, src: string, opts: { move?: boolean; expect?: string } = {}): Promise<PutResult> {
  if (opts.move) {
    const { hash, size } = await hashFile(src)
    let oid: string
    try {
      oid = checkExpected(hash, opts.expect, src)
    } catch (e) {
      fs.rmSync(src, { force: true }) // a corrupt download is of no use
      throw e
    }
    if (await reuseObject(cacheDir, oid, { size })) {
      fs.rmSync(src, { force: true })
      return { oid, size, added: false }
    }
    fs.chmodSync(src, 0o444)
    commit(cacheDir, src, oid)
    return { oid, size, added: true }
  }
  const staged = await stageFile(cacheDir, src, opts.expect)
  await staged.written
  return { oid: staged.oid, size: staged.size, added: staged.added }
}

/**
 * Like putFile, but a small file's write to the cache is left running in the background
 * (`written`), so that the caller can read and hash the next file meanwhile: adding
 * 20,000 small files takes half the time. Await `written` before relying on the object.
 */
export async function stageFile(cacheDir: string, src: string, expect?: string): Promise<StagedPut> {
  let st: fs.Stats
  try {
    st = fs.statSync(src)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new XpError('XP_FILE_CHANGED', `${src} vanished while it was being added`)
    throw e
  }
  if (st.size <= SMALL_FILE) {
    const { hash, size, bytes, stat } = await hashFile(src, { keepSmall: true })
    const oid = checkExpected(hash, expect, src)
    if (await reuseObject(cacheDir, oid, { size, bytes })) return { oid, size, added: false, stat, written: done }
    const written = writeObjectAsync(cacheDir, oid, bytes!)
    written.catch(() => {}) // handled by whoever awaits it; never an unhandled rejection
    return { oid, size, added: true, stat, written }
  }
  const tmp = tempPath(cacheDir)
  try {
    const copying = fs.promises.copyFile(src, tmp, fs.constants.COPYFILE_FICLONE)
    copying.catch(() => {}) // awaited below; a failure while hashing must not be an unhandled rejection
    let hashed: Awaited<ReturnType<typeof hashFile>>
    try {
      hashed = await hashFile(src)
    } finally {
      await copying.catch(() => {})
    }
    await copying
    const oid = checkExpected(hashed.hash, expect, src)
    if (fs.statSync(tmp).size !== hashed.size) throw new XpError('XP_FILE_CHANGED', `${src} changed while it was being added`)
    if (await reuseObject(cacheDir, oid, { size: hashed.size, verify: true })) {
      fs.rmSync(tmp, { force: true })
      return { oid, size: hashed.size, added: false, stat: hashed.stat, written: done }
    }
    fs.chmodSync(tmp, 0o444)
    commit(cacheDir, tmp, oid)
    return { oid, size: hashed.size, added: true, stat: hashed.stat, written: done }
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw diskError(e, `the cache (${cacheDir}), storing ${src}`)
  }
}

async function writeObjectAsync(cacheDir: string, oid: string, bytes: Uint8Array): Promise<void> {
  const tmp = tempPath(cacheDir)
  const dest = objectPath(cacheDir, oid)
  try {
    await fs.promises.writeFile(tmp, bytes, { mode: 0o444 })
    mkdirOnce(path.dirname(dest))
    await fs.promises.rename(tmp, dest)
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw diskError(e, dest)
  }
}

/** The oid to store under: the expected one (a manifest keeps its `.dir`) once the hash matches it. */
function checkExpected(hash: string, expect: string | undefined, src: string): string {
  if (expect === undefined) return hash
  if (Oid.parse(expect).hash !== hash)
    throw new XpError('XP_HASH_MISMATCH', `${src} hashes to ${hash}, expected ${expect}`, { hint: 'the copy is corrupt; fetch it again' })
  return expect
}

/** Store bytes held in memory under `oid`, synchronously (a temporary name, mode 0444 at open, renamed); the caller has verified them. */
export function writeObject(cacheDir: string, oid: string, bytes: Uint8Array): void {
  const tmp = tempPath(cacheDir)
  try {
    fs.writeFileSync(tmp, bytes, { mode: 0o444 })
    commit(cacheDir, tmp, oid)
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw diskError(e, objectPath(cacheDir, oid))
  }
}

/**
 * Store bytes held in memory; `dir` names them a manifest (oid with `.dir`).
 *
 * @example
 * const oid = await putBytes(cacheDir, encodeManifest(entries), { dir: true })
 */
export async function putBytes(cacheDir: string, bytes: Uint8Array, opts: { dir?: boolean } = {}): Promise<string> {
  const oid = hashBytes(await hasher(), bytes) + (opts.dir ? DIR_SUFFIX : '')
  if (!(await reuseObject(cacheDir, oid, { size: bytes.length, bytes }))) writeObject(cacheDir, oid, bytes)
  return oid
}

/** XP_CACHE_MISSING for an object not in the cache. */
export function missing(oid: string): XpError {
  return new XpError('XP_CACHE_MISSING', `object ${oid} is not in the cache`, {
    hint: "fetch every run's data with `xp pull --all-data` (a data remote must be set), or re-add the data with `xp add`",
    data: { oids: [oid] },
  })
}

/** A read stream over an object; XP_CACHE_MISSING when absent. */
export function openObject(cacheDir: string, oid: Oid | string): fs.ReadStream {
  const file = objectPath(cacheDir, oid)
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing(String(oid))
    throw e
  }
  return fs.createReadStream(file, { fd, highWaterMark: 1024 * 1024 })
}

/** A small object's bytes (manifests); XP_CACHE_MISSING when absent. */
export function readObject(cacheDir: string, oid: Oid | string): Buffer {
  try {
    return fs.readFileSync(objectPath(cacheDir, oid))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing(String(oid))
    throw e
  }
}

/**
 * The error for an object whose bytes no longer match its name. The object is removed
 * (its bytes are worth nothing, and gone it can be fetched or added again); the error says
 * where the bytes can come from.
 */
export function corruptObject(cacheDir: string, oid: string, got: string): XpError {
  fs.rmSync(objectPath(cacheDir, oid), { force: true })
  return new XpError('XP_CACHE_CORRUPT', `object ${oid} in the cache was corrupt (its bytes hash to ${got}); it was removed and nothing was written from it`, {
    hint: 'get it back with `xp pull` (from the data remote), or `xp add PATH` where the data still exists; `xp fsck` lists what needs it',
    data: { oids: [oid] },
  })
}

/**
 * A small object's bytes (manifests), verified against its oid: XP_CACHE_MISSING when
 * absent, XP_CACHE_CORRUPT (object removed) when its bytes no longer match.
 *
 * @example
 * const entries = decodeManifest(await readVerified(cacheDir, '9f2c...e1.dir'))
 */
export async function readVerified(cacheDir: string, oid: Oid | string): Promise<Buffer> {
  const bytes = readObject(cacheDir, oid)
  const got = hashBytes(await hasher(), bytes)
  if (got !== Oid.parse(String(oid)).hash) throw corruptObject(cacheDir, String(oid), got)
  return bytes
}

/**
 * Rehash a stored file (streaming, at XXH3 speed); XP_CACHE_CORRUPT (object removed)
 * when its bytes no longer match its oid.
 */
export async function verifyObject(cacheDir: string, oid: string, file: string = objectPath(cacheDir, oid)): Promise<void> {
  let got: string
  try {
    got = (await hashFile(file)).hash
  } catch (e) {
    if (e instanceof XpError && e.code === 'XP_FILE_CHANGED') throw missing(oid)
    throw e
  }
  if (got !== Oid.parse(oid).hash) throw corruptObject(cacheDir, oid, got)
}

export interface CachedObject {
  oid: string
  file: string
  size: number
  mtimeMs: number
}

/** Every object in the cache (gc, fsck, push of everything). Temporary files are not objects. */
export function* listObjects(cacheDir: string): Generator<CachedObject> {
  let tops: string[]
  try {
    tops = fs.readdirSync(cacheDir)
  } catch {
    return
  }
  for (const top of tops.sort()) {
    if (!/^[0-9a-f]{2}$/.test(top)) continue
    const dir = path.join(cacheDir, top)
    for (const name of fs.readdirSync(dir).sort()) {
      const oid = top + name
      if (!Oid.isValid(oid)) continue
      const file = path.join(dir, name)
      try {
        const st = fs.lstatSync(file)
        yield { oid, file, size: st.size, mtimeMs: st.mtimeMs }
      } catch {
        // removed meanwhile (a concurrent gc)
      }
    }
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Remove temporary files left by killed processes: those whose writer is gone, or older
 * than a day. Returns how many were removed. Cheap when there are none.
 */
export function cleanTemp(cacheDir: string, now: number = Date.now()): number {
  const dir = path.join(cacheDir, TEMP_DIR)
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return 0
  }
  let removed = 0
  for (const name of names) {
    const file = path.join(dir, name)
    const pid = Number(name.split('-')[0])
    let old = false
    try {
      old = now - fs.lstatSync(file).mtimeMs > STALE_MS
    } catch {
      continue
    }
    if (old || !Number.isInteger(pid) || !alive(pid)) {
      fs.rmSync(file, { force: true, recursive: true })
      removed++
    }
  }
  return removed
}
