/**
 * Write data from the cache into the working tree (checkout, apply, model get) by link
 * type: `reflink,copy` by default, or `hardlink`, `symlink`, `copy` (a comma list is tried
 * in order, like DVC). Files already right are left alone; a file whose content would be
 * lost (not in the cache) is not overwritten or removed without `force`: the whole call
 * fails with XP_CHECKOUT_CONFLICT before anything is written. Files the manifest no longer
 * lists are removed.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { readLocalConfig } from '../repo.js'
import { XpError } from '../errors.js'
import { isInside, modeNeedsChmod, tempNameFor } from '../fsutil.js'
import { guardWrite } from '../safety/paths.js'
import { hashCopy, hashFile } from './hash.js'
import { Oid, objectPath, oidFromPath } from './oid.js'
import { hasObject, missingObjects, readVerified, corruptObject, isDeadTemp } from './objects.js'
import { decodeManifest, MODE_FILE, type ManifestEntry } from './manifest.js'
import { StatCache, type StatLike } from './state.js'
import { SecondWriter, threadFrom } from '../second-writer.js'
import type { LocatedPointer } from './pointer.js'

export const DEFAULT_LINK = 'reflink,copy'
const LINK_TYPES = new Set(['reflink', 'copy', 'hardlink', 'symlink'])

export interface MaterializeOptions {
  /** link types to try in order, e.g. `hardlink,copy`; default from `.xp/config.local.yaml` `cache.type` */
  link?: string
  /** overwrite or remove files whose content is not in the cache */
  force?: boolean
  /** called with the oids absent from the cache before failing (a remote's pull) */
  fetchMissing?: (oids: string[]) => Promise<void>
  /** the stat cache to consult and update; loaded from repo.xpDir when omitted */
  state?: StatCache
  /** check (objects present, no conflicts) and write nothing */
  dryRun?: boolean
}

export interface MaterializeResult {
  written: number
  removed: number
  unchanged: number
}

export function linkTypes(spec: string): string[] {
  const types = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const t of types)
    if (!LINK_TYPES.has(t))
      throw new XpError('XP_BAD_CONFIG', `unknown link type "${t}"`, { hint: 'use reflink, hardlink, symlink or copy (a comma list is tried in order)' })
  if (!types.length) throw new XpError('XP_BAD_CONFIG', 'no link type given')
  return types
}

/** The link types configured for this machine (`cache.type` in `.xp/config.local.yaml`). */
export function configuredLink(repo: Pick<Repo, 'xpDir'>): string {
  return readLocalConfig(repo.xpDir).cache?.type ?? DEFAULT_LINK
}

async function ensurePresent(cacheDir: string, oids: string[], fetch?: MaterializeOptions['fetchMissing']) {
  let miss = missingObjects(cacheDir, oids)
  if (miss.length && fetch) {
    await fetch(miss)
    miss = missingObjects(cacheDir, miss)
  }
  if (miss.length)
    throw new XpError(
      'XP_CACHE_MISSING',
      `${miss.length} object${miss.length === 1 ? ' is' : 's are'} not in the cache (${miss[0]}${miss.length > 1 ? ', ...' : ''})`,
      {
        hint: fetch
          ? 'the data remote lacks them too: push them from the clone that made them (`xp push`), or re-add the data there'
          : 'no data remote is set: add the one they were pushed to (`xp remote add NAME URL --default`) and run this again (it fetches what it needs)',
        data: { oids: miss },
      },
    )
}

/** The entries to place, keyed by path relative to dest ('' for a single file). */
export async function wantedEntries(
  cacheDir: string,
  entry: { oid: string; size: number },
  fetch?: MaterializeOptions['fetchMissing'],
): Promise<ManifestEntry[]> {
  const oid = Oid.parse(entry.oid)
  if (!oid.isDir) return [{ path: '', oid: entry.oid, size: entry.size, mode: MODE_FILE }]
  await ensurePresent(cacheDir, [entry.oid], fetch)
  return decodeManifest(await readVerified(cacheDir, oid), `manifest ${entry.oid}`)
}

interface Existing {
  rel: string
  abs: string
  st: fs.Stats
}

function listExisting(dest: string): Existing[] {
  const out: Existing[] = []
  let st: fs.Stats
  try {
    st = fs.lstatSync(dest)
  } catch {
    return out
  }
  if (!st.isDirectory()) return [{ rel: '', abs: dest, st }]
  const walk = (dir: string, prefix: string) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${d.name}` : d.name
      const full = path.join(dir, d.name)
      if (d.isDirectory()) walk(full, rel)
      else out.push({ rel, abs: full, st: fs.lstatSync(full) })
    }
  }
  walk(dest, '')
  return out
}

/**
 * Materialize a file or directory from the cache at `dest` (absolute, or relative to the
 * repo root). Throws XP_CACHE_MISSING (data: {oids}) when objects are absent and
 * `fetchMissing` could not bring them, XP_CHECKOUT_CONFLICT (data: {paths}) when local
 * changes would be lost without `force`.
 *
 * @example
 * await materialize(repo, { oid: '9f2c...e1.dir', size: 123 }, 'data/train')
 */
export async function materialize(
  repo: Pick<Repo, 'root' | 'cacheDir' | 'xpDir'>,
  entry: { oid: string; size: number },
  dest: string,
  opts: MaterializeOptions = {},
): Promise<MaterializeResult> {
  const cacheDir = repo.cacheDir
  const absDest = path.resolve(repo.root, dest)
  const types = linkTypes(opts.link ?? configuredLink(repo))
  const inRepo = isInside(repo.root, absDest)
  // the path guard before anything is read or written: no symlinked folder on the way (core/safety)
  if (inRepo && absDest !== repo.root) guardWrite(repo.root, path.relative(repo.root, absDest).split(path.sep).join('/'), dest)
  const want = await wantedEntries(cacheDir, entry, opts.fetchMissing)
  const provenDirs = new Set<string>()
  for (const w of want) if (w.path) guardWrite(absDest, w.path, `${dest}/${w.path}`, provenDirs)
  const state = inRepo ? (opts.state ?? StatCache.load(repo.xpDir)) : null
  // checked every time (one lstat per file): no stat-cache row may say "stored"
  await ensurePresent(
    cacheDir,
    want.map((w) => w.oid),
    opts.fetchMissing,
  )
  const relDest = path.relative(repo.root, absDest).split(path.sep).join('/')
  const keyOf = (rel: string) => (rel ? `${relDest}/${rel}` : relDest)
  const isDir = Oid.parse(entry.oid).isDir
  const realCache = fs.existsSync(cacheDir) ? fs.realpathSync(cacheDir) : cacheDir
  const currentOid = async (e: Existing): Promise<string | null> => {
    if (e.st.isSymbolicLink()) {
      try {
        return oidFromPath(realCache, fs.realpathSync(e.abs))
      } catch {
        return null
      }
    }
    if (!e.st.isFile()) return null
    const known = state?.get(keyOf(e.rel), e.st)
    if (known) return known
    const { hash } = await hashFile(e.abs)
    state?.set(keyOf(e.rel), e.st, hash)
    return hash
  }

  const wantBy = new Map(want.map((w) => [w.path, w]))
  const existing = listExisting(absDest)
  const conflicts: string[] = []
  const toRemove: Existing[] = []
  const done = new Set<string>()
  let unchanged = 0
  for (const e of existing) {
    const w = isDir === (e.rel !== '') ? wantBy.get(e.rel) : undefined
    if (!w && e.st.isFile() && isDeadTemp(path.basename(e.abs))) {
      toRemove.push(e) // a killed pull or checkout's temporary file: never data
      continue
    }
    const cur = await currentOid(e)
    if (w && cur === w.oid) {
      done.add(w.path)
      unchanged++
      continue
    }
    if (!opts.force && !(cur && hasObject(cacheDir, cur))) conflicts.push(e.rel ? path.join(dest, e.rel) : dest)
    toRemove.push(e)
  }
  if (conflicts.length)
    throw new XpError(
      'XP_CHECKOUT_CONFLICT',
      `${conflicts.length} file${conflicts.length === 1 ? ' has' : 's have'} changes that are not in the cache (${conflicts[0]}${conflicts.length > 1 ? ', ...' : ''})`,
      {
        hint: 'save them with `xp add`, or pass --force to overwrite them',
        data: { paths: conflicts },
      },
    )

  if (opts.dryRun) {
    state?.save()
    return { written: want.length - done.size, removed: toRemove.filter((e) => !wantBy.has(e.rel)).length, unchanged }
  }
  for (const e of toRemove) fs.rmSync(e.abs, { force: true })
  // a folder where a file goes (or the reverse) is cleared as a whole; its files were checked above
  if (!isDir) {
    try {
      if (fs.lstatSync(absDest).isDirectory()) fs.rmSync(absDest, { recursive: true, force: true })
    } catch {
      // absent
    }
  } else {
    try {
      if (!fs.lstatSync(absDest).isDirectory()) fs.rmSync(absDest, { force: true })
    } catch {
      // absent
    }
    pruneEmptyDirs(absDest)
  }

  let written = 0
  const madeDirs = new Set<string>()
  for (const w of want) {
    if (done.has(w.path)) continue
    const target = w.path ? path.join(absDest, w.path) : absDest
    const dir = path.dirname(target)
    if (!madeDirs.has(dir)) {
      fs.mkdirSync(dir, { recursive: true })
      madeDirs.add(dir)
    }
    await place(cacheDir, w.oid, target, w.mode, types)
    written++
    if (state) state.set(keyOf(w.path), fs.statSync(target), w.oid)
  }
  if (isDir) fs.mkdirSync(absDest, { recursive: true })
  state?.save()
  return { written, removed: toRemove.filter((e) => !wantBy.has(e.rel)).length, unchanged }
}

/** Remove folders left empty under `dir` (not `dir` itself). */
function pruneEmptyDirs(dir: string): boolean {
  let ents: fs.Dirent[]
  try {
    ents = fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return false
  }
  let empty = true
  for (const d of ents) {
    if (d.isDirectory()) {
      const sub = path.join(dir, d.name)
      if (pruneEmptyDirs(sub)) fs.rmdirSync(sub)
      else empty = false
    } else empty = false
  }
  return empty
}

let reflinkWorks = true

/**
 * Put one object at `target` by the first link type that works, through a temporary name,
 * verified on the way out of the cache: a copy is hashed before it is renamed into place
 * (it is in the page cache, read back in 1 MiB chunks), a link's object is hashed
 * before the link is made. A corrupt object is never written to the working tree
 * (XP_CACHE_CORRUPT, the object removed).
 */
async function place(cacheDir: string, oid: string, target: string, mode: number, types: string[]) {
  const obj = objectPath(cacheDir, oid)
  if (!fs.existsSync(obj)) throw missingObject(oid, target)
  let last: unknown
  for (const t of types) {
    if (t === 'reflink' && !reflinkWorks) continue
    const tmp = tempNameFor(target)
    try {
      if (t === 'copy') {
        // one read that both verifies and writes: the bytes hashed are the bytes written
        const got = (await hashCopy(obj, tmp, mode)).hash
        if (got !== Oid.parse(oid).hash) throw corruptObject(cacheDir, oid, got)
        if (modeNeedsChmod(mode)) fs.chmodSync(tmp, mode)
      } else if (t === 'reflink') {
        fs.copyFileSync(obj, tmp, fs.constants.COPYFILE_FICLONE_FORCE)
        const got = (await hashFile(tmp)).hash
        if (got !== Oid.parse(oid).hash) throw corruptObject(cacheDir, oid, got)
        fs.chmodSync(tmp, mode)
      } else {
        await verifyLinked(cacheDir, oid, obj)
        if (t === 'hardlink') fs.linkSync(obj, tmp)
        else fs.symlinkSync(obj, tmp)
      }
      fs.renameSync(tmp, target)
      return
    } catch (e) {
      fs.rmSync(tmp, { force: true })
      if (e instanceof XpError) throw e
      if (t === 'reflink') reflinkWorks = false
      last = e
    }
  }
  if ((last as NodeJS.ErrnoException)?.code === 'ENOENT' && !fs.existsSync(obj)) throw missingObject(oid, target)
  throw new XpError('XP_LINK_FAILED', `could not place ${target} by ${types.join(',')}: ${(last as Error)?.message}`, {
    hint: 'add copy to cache.type in .xp/config.local.yaml',
  })
}

async function verifyLinked(cacheDir: string, oid: string, obj: string) {
  const got = (await hashFile(obj)).hash
  if (got !== Oid.parse(oid).hash) throw corruptObject(cacheDir, oid, got)
}

/** An object that vanished between the check and the write: say so, and how to get it back (not a link type). */
function missingObject(oid: string, target: string): XpError {
  return new XpError('XP_CACHE_MISSING', `object ${oid} for ${target} is not in the cache`, {
    hint: 'get it back with `xp pull` (from the data remote), or `xp add PATH` where the data still exists',
    data: { oids: [oid] },
  })
}

/**
 * Before a command that may write runs (`xp run`), replace every file under `rels` that IS
 * a cache object (a `hardlink` or `symlink` checkout) by its own copy (a reflink where the
 * file system can), so that nothing the command does can change the cache: 0444 does not
 * stop root, nor an owner who chmods. Returns how many files were unshared.
 *
 * @example
 * await unshareLinks(repo, ['data/train', 'model.bin'])
 */
export async function unshareLinks(repo: Pick<Repo, 'root' | 'cacheDir' | 'xpDir'>, rels: string[]): Promise<number> {
  if (!fs.existsSync(repo.cacheDir)) return 0
  const realCache = fs.realpathSync(repo.cacheDir)
  const state = StatCache.load(repo.xpDir)
  let n = 0
  const unshare = async (abs: string, key: string, st: fs.Stats) => {
    let obj: string | null = null
    if (st.isSymbolicLink()) {
      let real: string
      try {
        real = fs.realpathSync(abs)
      } catch {
        return
      }
      if (oidFromPath(realCache, real)) obj = real
    } else if (st.isFile() && st.nlink > 1) {
      const oid = state.get(key, st) ?? (await hashFile(abs)).hash
      const candidate = objectPath(repo.cacheDir, oid)
      try {
        if (fs.statSync(candidate).ino === st.ino) obj = candidate
      } catch {
        // not stored: not the cache's file
      }
    }
    if (!obj) return
    const mode = st.isSymbolicLink() ? 0o644 : st.mode & 0o100 ? 0o755 : 0o644
    const tmp = tempNameFor(abs)
    try {
      fs.copyFileSync(obj, tmp, fs.constants.COPYFILE_FICLONE)
      fs.chmodSync(tmp, mode)
      fs.renameSync(tmp, abs)
    } catch (e) {
      fs.rmSync(tmp, { force: true })
      throw e
    }
    state.set(key, fs.statSync(abs), oidFromPath(realCache, fs.realpathSync(obj)) ?? '')
    n++
  }
  const walk = async (abs: string, key: string) => {
    let st: fs.Stats
    try {
      st = fs.lstatSync(abs)
    } catch {
      return
    }
    if (st.isDirectory()) {
      for (const d of fs.readdirSync(abs)) await walk(path.join(abs, d), `${key}/${d}`)
    } else await unshare(abs, key, st)
  }
  for (const rel of rels) await walk(path.join(repo.root, rel), rel)
  state.save()
  return n
}

interface FreshTarget {
  abs: string
  /** the stat cache's key (repo-relative) */
  key: string
  mode: number
  pointer: string
}

/**
 * The working tree of a fresh clone written during the download itself (`xp pull`): each
 * small object's bytes, just downloaded and verified, are written to the cache and, from
 * the same buffer, to every working-tree file that wants them, so that pull + checkout
 * reads each byte once where two `cp -r` read it twice. A large object is copied from the
 * cache right after it arrived (`hashCopy`, verified in the same read). Only data paths
 * absent from the working tree are written so (nothing there can be lost), and only when
 * the files would be copies anyway (`cache.type` copy, or reflink where the file system
 * cannot: a reflink is tried once). Every file gets its stat-cache row, so a checkout
 * after it finds them unchanged; `done()` names the data paths written whole, which
 * `checkoutData` then skips. Any trouble writing a path leaves it to `checkoutData`.
 */
export class FreshCheckout {
  private readonly byOid = new Map<string, FreshTarget[]>()
  /** data path -> files not written yet (-1: left to checkoutData) */
  private readonly left = new Map<string, number>()
  private readonly waiting: LocatedPointer[]
  private readonly madeDirs = new Set<string>()
  private readonly state: StatCache
  private writer: SecondWriter | undefined
  /** files planned */
  private files = 0
  /** 'try': a reflink is tried on the first file; 'copy': write copies; 'off': leave it all to checkoutData */
  private how: 'try' | 'copy' | 'off'

  constructor(
    private readonly repo: Pick<Repo, 'root' | 'cacheDir' | 'xpDir' | 'ctx'>,
    pointers: LocatedPointer[],
  ) {
    const types = linkTypes(configuredLink(repo))
    this.how = types[0] === 'copy' ? 'copy' : types[0] === 'reflink' && types[1] === 'copy' ? (reflinkWorks ? 'try' : 'copy') : 'off'
    this.waiting = this.how === 'off' ? [] : pointers.filter((p) => this.absent(p.dataPath))
    this.state = StatCache.load(repo.xpDir)
  }

  private absent(rel: string): boolean {
    try {
      guardWrite(this.repo.root, rel)
      fs.lstatSync(path.join(this.repo.root, rel))
      return false
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT'
    }
  }

  /** Learn the files of the pointers whose manifest is in the cache now (before each round of downloads). */
  async plan(): Promise<void> {
    for (let i = 0; i < this.waiting.length; i++) {
      const p = this.waiting[i]!
      let entries: ManifestEntry[]
      if (!Oid.parse(p.oid).isDir) entries = [{ path: '', oid: p.oid, size: p.size, mode: MODE_FILE }]
      else if (!hasObject(this.repo.cacheDir, p.oid)) continue
      else {
        try {
          entries = decodeManifest(await readVerified(this.repo.cacheDir, p.oid), `manifest ${p.oid}`)
        } catch {
          entries = [] // checkoutData says what is wrong with it
          this.left.set(p.dataPath, -1)
        }
      }
      this.waiting.splice(i--, 1)
      if (this.left.has(p.dataPath)) continue
      this.left.set(p.dataPath, entries.length || -1) // an empty folder: checkoutData makes it
      const abs = path.join(this.repo.root, p.dataPath)
      for (const e of entries) {
        const t = { abs: e.path ? path.join(abs, e.path) : abs, key: e.path ? `${p.dataPath}/${e.path}` : p.dataPath, mode: e.mode, pointer: p.dataPath }
        this.files++
        const list = this.byOid.get(e.oid)
        if (list) list.push(t)
        else this.byOid.set(e.oid, [t])
      }
    }
  }

  /**
   * The writer of the working tree's files, for the download to write the cache's objects
   * through too (`objects` of them): one second thread then takes whichever file comes
   * next, object or working-tree copy, instead of the cache's all falling on this thread.
   * Finished by `finish()`.
   */
  sharedWriter(objects: number): SecondWriter {
    const from = threadFrom(this.files + objects, this.repo.ctx.env)
    // a pull's first round fetches a folder's manifest alone: its writer, thread-less and
    // with nothing pending, gives way to one with a thread once the files are known
    if (!this.writer || (!this.writer.mayThread && from !== Infinity)) this.writer = new SecondWriter(from)
    return this.writer
  }

  /** Does a download of `oid` write working-tree files? */
  wants(oid: string): boolean {
    return this.how !== 'off' && this.byOid.has(oid)
  }

  /**
   * Write `bytes`, verified to be `oid`'s and in the cache already, to the files that want
   * them: on a second thread while this one downloads the next objects (SecondWriter,
   * which copies them: the caller may reuse its buffer).
   */
  placeBytes(oid: string, bytes: Uint8Array): void {
    const want = this.byOid.get(oid)
    if (!want || this.how === 'off') return
    for (const t of want) {
      if (this.left.get(t.pointer)! < 0) continue
      const tmp = tempNameFor(t.abs)
      try {
        this.dirFor(t.abs)
        if (this.how === 'try') {
          // a reflink shares the cache's blocks: where it works, checkoutData makes them all
          try {
            fs.copyFileSync(objectPath(this.repo.cacheDir, oid), tmp, fs.constants.COPYFILE_FICLONE_FORCE)
            this.how = 'off'
            fs.rmSync(tmp, { force: true })
            return
          } catch {
            reflinkWorks = false
            this.how = 'copy'
          }
        }
      } catch {
        this.left.set(t.pointer, -1)
        continue
      }
      this.sharedWriter(0).write({ tmp, dest: t.abs, mode: t.mode, chmod: modeNeedsChmod(t.mode), stat: true }, bytes, (done) =>
        done.stat ? this.wrote(t, done.stat, oid) : this.left.set(t.pointer, -1),
      )
    }
  }

  /** Temporary names for the working-tree copies of `oid`, to write in the same read as the cache's copy (a large object from a folder remote). */
  copiesOf(oid: string): Array<{ path: string; mode: number; t: FreshTarget }> {
    const want = this.byOid.get(oid)
    if (!want || this.how !== 'copy') return [] // (where a reflink may work, checkoutData tries it)
    const out: Array<{ path: string; mode: number; t: FreshTarget }> = []
    for (const t of want) {
      if (this.left.get(t.pointer)! < 0) continue
      try {
        this.dirFor(t.abs)
      } catch {
        this.left.set(t.pointer, -1)
        continue
      }
      out.push({ path: tempNameFor(t.abs), mode: t.mode, t })
    }
    return out
  }

  /** The copies of copiesOf, written and verified (the object is in the cache): renamed into place. The caller removes what is left. */
  placed(oid: string, copies: Array<{ path: string; mode: number; t: FreshTarget }>): void {
    for (const c of copies) {
      try {
        if (modeNeedsChmod(c.mode)) fs.chmodSync(c.path, c.mode)
        const st = fs.statSync(c.path)
        fs.renameSync(c.path, c.t.abs)
        this.wrote(c.t, st, oid)
      } catch {
        this.left.set(c.t.pointer, -1)
      }
    }
  }

  /** Copy a large object just put in the cache to the files that want it, verified in the same read. */
  async placeObject(oid: string): Promise<void> {
    const obj = objectPath(this.repo.cacheDir, oid)
    const want = this.byOid.get(oid)
    if (!want || this.how !== 'copy') return // (where a reflink may work, checkoutData tries it)
    for (const t of want) {
      if (this.left.get(t.pointer)! < 0) continue
      const tmp = tempNameFor(t.abs)
      try {
        this.dirFor(t.abs)
        const got = (await hashCopy(obj, tmp, t.mode)).hash
        if (got !== Oid.parse(oid).hash) throw corruptObject(this.repo.cacheDir, oid, got)
        if (modeNeedsChmod(t.mode)) fs.chmodSync(tmp, t.mode)
        const st = fs.statSync(tmp)
        fs.renameSync(tmp, t.abs)
        this.wrote(t, st, oid)
      } catch (e) {
        fs.rmSync(tmp, { force: true })
        if (e instanceof XpError) throw e
        this.left.set(t.pointer, -1)
      }
    }
  }

  private dirFor(file: string) {
    const dir = path.dirname(file)
    if (this.madeDirs.has(dir)) return
    fs.mkdirSync(dir, { recursive: true })
    this.madeDirs.add(dir)
  }

  private wrote(t: FreshTarget, st: StatLike, oid: string) {
    this.state.set(t.key, st, oid)
    this.left.set(t.pointer, this.left.get(t.pointer)! - 1)
    this.written++
  }

  /** files written */
  written = 0

  /** Wait for the files being written, save their stat-cache rows; returns the data paths written whole. */
  async finish(): Promise<Set<string>> {
    await this.writer?.finish()
    this.state.save()
    return new Set([...this.left].filter(([, n]) => n === 0).map(([p]) => p))
  }
}
