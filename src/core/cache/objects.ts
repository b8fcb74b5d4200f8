/**
 * The object store: `.xp/cache/<2>/<30>[.dir]`, each object written under a temporary name
 * beside it (`<2>/.<30>.tmp-<pid>-<tag>-<n>`; `<cache>/tmp/` when the oid is not known yet)
 * and renamed into place, then read-only (0444) so that a hardlinked workspace file cannot
 * corrupt it (docs/architecture.md#principles, 2.3). A process killed at any moment leaves
 * only a temporary file, which `cleanTemp` removes on the next command.
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Stats } from 'node:fs'
import { XpError, diskError } from '../errors.js'
import { modeNeedsChmod, tempNameFor } from '../fsutil.js'
import type { IHasher } from 'hash-wasm'
import { writeOne, type SecondWriter, type WriteJob } from '../second-writer.js'
import { hasher, hashBytes, hashFile, readSmallFile, type FileHash, type Listed } from './hash.js'
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

/**
 * A fresh temporary name in the cache, carrying our pid so others know when it is stale.
 * With `oid`, beside that object (`<2>/.<30>.tmp-<pid>-<tag>-<n>`): the rename then stays in
 * one folder, and 5,000 new files are not all created in one folder first (which cost a
 * pull more than the temporary names beside each object); this process's marker in `tmp/`
 * tells `cleanTemp` to look there if it dies. Without `oid` (a large file being copied
 * while it is hashed, an upload), in `tmp/`.
 */
export function tempPath(cacheDir: string, oid?: string): string {
  if (oid !== undefined) {
    const dest = objectPath(cacheDir, oid)
    markWriter(cacheDir)
    mkdirOnce(path.dirname(dest))
    return tempNameFor(dest)
  }
  const dir = path.join(cacheDir, TEMP_DIR)
  mkdirOnce(dir)
  tempTag ??= randomBytes(6).toString('hex')
  return path.join(dir, `${process.pid}-${tempTag}-${++tempSeq}`)
}

/** the marker a writer of temporary files beside objects leaves in `tmp/`: `<pid>-<tag>-beside` */
const MARKER = '-beside'
/** a temporary name beside an object (fsutil's tempNameFor): `.<name>.tmp-<pid>-<tag>-<n>` */
const BESIDE_TEMP = /^\..*\.tmp-(\d+)-[0-9a-f]+-\d+$/
const markers = new Map<string, string>()

/**
 * Say, once per process and cache, that this process writes temporary files beside objects:
 * an empty file `tmp/<pid>-<tag>-beside`, removed when the process exits. One left behind
 * (the process was killed) makes the next `cleanTemp` look through the prefix folders,
 * so that the usual `cleanTemp` (every status) stays one listing of `tmp/`.
 */
function markWriter(cacheDir: string) {
  if (markers.has(cacheDir)) return
  const dir = path.join(cacheDir, TEMP_DIR)
  mkdirOnce(dir)
  tempTag ??= randomBytes(6).toString('hex')
  const marker = path.join(dir, `${process.pid}-${tempTag}${MARKER}`)
  try {
    fs.writeFileSync(marker, '')
  } catch (e) {
    throw diskError(e, marker)
  }
  if (!markers.size)
    process.once('exit', () => {
      for (const m of markers.values()) fs.rmSync(m, { force: true })
    })
  markers.set(cacheDir, marker)
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
    return fs.lstatSync(objectPath(cacheDir, oid), { throwIfNoEntry: false })?.size ?? -1
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
  if (!check.verify || check.bytes) return reuseStored(cacheDir, oid, check.size, check.bytes)
  const file = objectPath(cacheDir, oid)
  if (storedSize(cacheDir, oid) !== check.size) return false
  try {
    if ((await hashFile(file)).hash !== Oid.parse(oid).hash) return false
    touch(file)
    return true
  } catch {
    return false
  }
}

/** reuseObject without a rehash: the same size, and the same bytes when `bytes` is given. */
function reuseStored(cacheDir: string, oid: string, size: number, bytes?: Uint8Array): boolean {
  const file = objectPath(cacheDir, oid)
  if (storedSize(cacheDir, oid) !== size) return false
  try {
    if (bytes && !fs.readFileSync(file).equals(bytes)) return false
    touch(file)
    return true
  } catch {
    return false
  }
}

function touch(file: string) {
  const now = new Date()
  fs.utimesSync(file, now, now)
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
 * Like putFile, returning the source's stat as read. A small file is stored synchronously
 * (storeSmall); a large one is copied by the kernel while this thread hashes it
 * (copyHashed). `written` has settled by the time this returns; a folder's small files
 * go through storeSmall with a writer thread instead (workspace.ts).
 */
export async function stageFile(cacheDir: string, src: string, expect?: string): Promise<StagedPut> {
  const small = storeSmall(cacheDir, src, await hasher(), { expect })
  if (small) return { ...small, written: done }
  const tmp = tempPath(cacheDir)
  try {
    const hashed = await copyHashed(src, tmp)
    const oid = checkExpected(hashed.hash, expect, src)
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

/**
 * Copy a large file to `tmp` while hashing it: the kernel copies (a reflink where the file
 * system makes them, else `copy_file_range`) on the thread pool while this thread reads
 * and hashes the source, so the two overlap on two cores. The copy and the hash are two
 * reads of the source, so the source's stat is taken before the copy starts and compared
 * with its stat after the hash: a file written meanwhile (its size or mtime moved) is
 * XP_FILE_CHANGED, and the copy is never renamed into place.
 *
 * One read whose chunks are hashed here and written by the thread pool was measured
 * against it (1 GiB, ext4): 0.95-1.9 s of system CPU against 0.48-1.4 s, as writing
 * from the process's memory costs this kernel more than its own copy (docs/data.md).
 */
async function copyHashed(src: string, tmp: string): Promise<FileHash> {
  let before: Stats
  try {
    before = fs.statSync(src)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new XpError('XP_FILE_CHANGED', `${src} vanished while it was being added`)
    throw e
  }
  const copying = fs.promises.copyFile(src, tmp, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE)
  copying.catch(() => {}) // awaited below; a failure while hashing must not be an unhandled rejection
  let hashed: FileHash
  try {
    hashed = await hashFile(src)
  } finally {
    await copying.catch(() => {})
  }
  await copying
  if (hashed.stat.size !== before.size || hashed.stat.mtimeMs !== before.mtimeMs || fs.statSync(tmp).size !== hashed.size)
    throw new XpError('XP_FILE_CHANGED', `${src} changed while it was being added`, {
      hint: 'wait until whatever writes it has finished, then run the command again',
    })
  return hashed
}

/**
 * Store a small file (<= SMALL_FILE) synchronously: one read into a reused buffer, hashed,
 * and the same bytes written to a temporary name (mode 0444 at open) renamed into place.
 * No promise and no thread-pool round trip per file: a write left to the thread pool cost
 * 10 futex calls and a wake-up of this thread per file, more CPU than the write itself
 * (docs/data.md, issue 16). Undefined, having read nothing, when the file is larger: the
 * caller stages it with stageFile. `h` is a loaded hasher (`hasher()`, `loadedHasher()`);
 * `listed`, a folder listing's stat of the file, which the file must still match once read;
 * `writer`, the writing thread (SecondWriter): the file goes to it when it has room, and
 * `written` settles once the object is in place; else it is written here.
 *
 * @example
 * const s = storeSmall(cacheDir, 'data/a.csv', await hasher()) // { oid, size, added, stat }
 */
export function storeSmall(
  cacheDir: string,
  src: string,
  h: IHasher,
  opts: { expect?: string; listed?: Listed; writer?: SecondWriter } = {},
): (PutResult & { stat: Stats; written?: Promise<void> }) | undefined {
  const { expect, listed } = opts
  const r = readSmallFile(src, h, listed)
  if (!r) return undefined
  const oid = checkExpected(r.hash, expect, src)
  if (reuseStored(cacheDir, oid, r.size, r.bytes)) return { oid, size: r.size, added: false, stat: r.stat }
  const w = opts.writer
  if (!w) {
    writeObject(cacheDir, oid, r.bytes)
    return { oid, size: r.size, added: true, stat: r.stat }
  }
  const job = objectJob(cacheDir, oid)
  if (w.hasRoom()) {
    const written = new Promise<void>((resolve, reject) => w.write(job, r.bytes, (d) => (d.error ? reject(diskError(d.error, job.dest)) : resolve())))
    return { oid, size: r.size, added: true, stat: r.stat, written }
  }
  // written here and now (the worker is full, or not started yet): onDone runs before write returns
  let failed: unknown
  w.write(job, r.bytes, (d) => (failed = d.error))
  if (failed) throw diskError(failed, job.dest)
  return { oid, size: r.size, added: true, stat: r.stat }
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
  const job = objectJob(cacheDir, oid)
  const done = writeOne(job, bytes) // (the writing thread's code: a failure removes the temporary file)
  if (done.error) throw diskError(done.error, job.dest)
}

/**
 * Write object `oid` through `writer` (on its thread when it has room, else here and now);
 * `onError` gets the disk error of a write that failed (its temporary file removed).
 */
export function writeObjectWith(writer: SecondWriter, cacheDir: string, oid: string, bytes: Uint8Array, onError: (e: unknown) => void): void {
  const job = objectJob(cacheDir, oid)
  writer.write(job, bytes, (d) => d.error && onError(diskError(d.error, job.dest)))
}

/** The write of object `oid`: a temporary name beside it (its folder made), mode 0444. */
function objectJob(cacheDir: string, oid: string): WriteJob {
  return { tmp: tempPath(cacheDir, oid), dest: objectPath(cacheDir, oid), mode: 0o444, chmod: modeNeedsChmod(0o444) }
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
 * than a day. Returns how many were removed. Cheap when there are none: one listing of
 * `tmp/`; the prefix folders are looked through only when a writer of temporary files
 * beside objects left its marker there and is gone (or the marker is a day old), or with
 * `all` (gc, fsck).
 */
export function cleanTemp(cacheDir: string, now: number = Date.now(), opts: { all?: boolean } = {}): number {
  const dir = path.join(cacheDir, TEMP_DIR)
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    names = []
  }
  let removed = 0
  let sweep = Boolean(opts.all)
  const deadMarkers: string[] = []
  for (const name of names) {
    const file = path.join(dir, name)
    const pid = Number(name.split('-')[0])
    let old = false
    try {
      old = now - fs.lstatSync(file).mtimeMs > STALE_MS
    } catch {
      continue
    }
    const dead = !Number.isInteger(pid) || !alive(pid)
    if (name.endsWith(MARKER)) {
      if (dead) deadMarkers.push(file)
      else if (old) fs.utimesSync(file, new Date(now), new Date(now)) // a long-lived writer (or a reused pid): look again in a day
      if (dead || old) sweep = true
    } else if (old || dead) {
      fs.rmSync(file, { force: true, recursive: true })
      removed++
    }
  }
  if (sweep) removed += cleanBeside(cacheDir, now)
  // only once its files are gone: a command killed while it cleans leaves the marker for the next
  for (const m of deadMarkers) fs.rmSync(m, { force: true })
  return removed
}

/**
 * True for a temporary name beside a file (`.<name>.tmp-<pid>-<tag>-<n>`, fsutil's tempNameFor)
 * whose writer is gone: what a killed checkout or pull leaves in the working tree.
 */
export function isDeadTemp(name: string): boolean {
  const m = BESIDE_TEMP.exec(name)
  return m !== null && !alive(Number(m[1]))
}

/** Remove the temporary files beside objects whose writer is gone, or a day old. */
function cleanBeside(cacheDir: string, now: number): number {
  let tops: string[]
  try {
    tops = fs.readdirSync(cacheDir)
  } catch {
    return 0
  }
  let removed = 0
  for (const top of tops) {
    if (!/^[0-9a-f]{2}$/.test(top)) continue
    let names: string[]
    try {
      names = fs.readdirSync(path.join(cacheDir, top))
    } catch {
      continue
    }
    for (const name of names) {
      const m = BESIDE_TEMP.exec(name)
      if (!m) continue
      const file = path.join(cacheDir, top, name)
      try {
        if (alive(Number(m[1])) && now - fs.lstatSync(file).mtimeMs <= STALE_MS) continue
      } catch {
        continue
      }
      fs.rmSync(file, { force: true })
      removed++
    }
  }
  return removed
}
