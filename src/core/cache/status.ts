/**
 * `xp status`: for every pointer in the working tree, whether its data is unchanged,
 * modified or deleted, file by file inside directories, and whether its objects are in
 * the cache. Hashes only what the stat cache cannot vouch for, and stores nothing.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { XpError } from '../errors.js'
import { Oid } from './oid.js'
import { cleanTemp, hasObject, missingObjects, readVerified } from './objects.js'
import { decodeManifest, type ManifestEntry } from './manifest.js'
import { StatCache, PREFIX_SLOTS, type Snapshot } from './state.js'

/** A file in the cache folder whose mtime is the file system's clock before a listing (missingOfSnapshot). */
const STAMP = '.listed'
import { hashPath, snapshotManifest } from './workspace.js'
import { worktreePointers } from './reachable.js'
import { dataPathArg } from './add.js'
import { pointerFileFor, POINTER_SUFFIX } from './pointer.js'

export type DataState = 'unchanged' | 'modified' | 'deleted'

export interface FileChange {
  path: string
  change: 'modified' | 'added' | 'deleted'
}

export interface PointerStatus {
  path: string
  pointer: string
  oid: string
  state: DataState
  /** per file, for directories whose manifest is in the cache */
  changes: FileChange[]
  /** objects the pointer needs that the cache lacks */
  missing: number
}

/**
 * Pure: the file-level changes between a recorded manifest and the current one.
 *
 * @example
 * diffManifests([{path:'a',oid:'1',...}], [{path:'a',oid:'2',...}]) // [{ path: 'a', change: 'modified' }]
 */
export function diffManifests(old: ManifestEntry[], now: ManifestEntry[]): FileChange[] {
  const before = new Map(old.map((e) => [e.path, e.oid]))
  const out: FileChange[] = []
  const seen = new Set<string>()
  for (const e of now) {
    seen.add(e.path)
    const o = before.get(e.path)
    if (o === undefined) out.push({ path: e.path, change: 'added' })
    else if (o !== e.oid) out.push({ path: e.path, change: 'modified' })
  }
  for (const e of old) if (!seen.has(e.path)) out.push({ path: e.path, change: 'deleted' })
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** Pointer files named by user paths (data paths, pointer files or folders holding pointers). */
export function pointerSpecs(repo: Pick<Repo, 'root' | 'ctx'>, paths: string[]): string[] {
  const specs: string[] = []
  for (const p of paths) {
    const abs = path.resolve(repo.ctx.cwd, p)
    const rel = dataPathArg(repo, p)
    if (p.endsWith(POINTER_SUFFIX) && fs.existsSync(abs)) specs.push(path.relative(repo.root, abs).split(path.sep).join('/'))
    specs.push(pointerFileFor(rel), rel)
  }
  return specs
}

/** A manifest from the cache, verified and decoded; null (and a warning) when it was damaged and removed. */
async function readManifestAsync(repo: Repo, oid: string): Promise<{ manifest: ManifestEntry[]; bytes: number } | null> {
  try {
    const bytes = await readVerified(repo.cacheDir, oid)
    return { manifest: decodeManifest(bytes, `manifest ${oid}`), bytes: bytes.length }
  } catch (e) {
    if (!(e instanceof XpError)) throw e
    // a damaged manifest was removed: it counts as missing, and the data is still compared by hash
    repo.ctx.warn(e.message)
    return null
  }
}

/**
 * How many objects of a folder snapshot (the files of the manifest it stands for) are not
 * in the cache, without listing the cache each time (issue 16). A prefix folder's mtime
 * changes whenever a name is added to it or removed from it; so when it still has the
 * mtime (and inode) it had at a listing that found all of the snapshot's objects of that
 * prefix, they are all still there. A listing counts only when the folder's mtime is older
 * than a stamp written just before it (the file system's own clock), so that a change in
 * the same clock tick as the listing cannot hide behind an unchanged mtime (git's "racy"
 * rule). Names only, as the listing always was: an object truncated or damaged in place is
 * caught where it is read (hashed on every read), by `xp add` (sizes) and by `xp fsck`.
 */
function missingOfSnapshot(cacheDir: string, state: StatCache, snap: Snapshot): number {
  const per = new Uint32Array(256)
  for (let i = 0; i < snap.count; i++) per[snap.oids[i * 16]]++
  const rec = state.objectsListedAt(snap.base, cacheDir)
  const now = new Float64Array(PREFIX_SLOTS)
  let stampMs: number | undefined
  let missing = 0
  for (let p = 0; p < 256; p++) {
    if (!per[p]) continue
    const dir = path.join(cacheDir, (p < 16 ? '0' : '') + p.toString(16))
    let st = statOrNull(dir)
    if (st && rec && rec[2 * p] !== 0 && rec[2 * p] === st.mtimeMs && rec[2 * p + 1] === st.ino) {
      now[2 * p] = st.mtimeMs
      now[2 * p + 1] = st.ino
      continue
    }
    stampMs ??= stamp(cacheDir)
    st = statOrNull(dir)
    let names: Set<string>
    try {
      names = new Set(fs.readdirSync(dir))
    } catch {
      names = new Set()
    }
    let absent = 0
    for (let i = 0; i < snap.count; i++) if (snap.oids[i * 16] === p && !names.has(snap.oids.toString('hex', i * 16 + 1, i * 16 + 16))) absent++
    missing += absent
    if (!absent && st && st.mtimeMs < stampMs) {
      now[2 * p] = st.mtimeMs
      now[2 * p + 1] = st.ino
    }
  }
  state.setObjectsListedAt(snap.base, cacheDir, now)
  return missing
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p)
  } catch {
    return null
  }
}

/** The file system's time now, as the mtime of a file written now in the cache; NaN when it cannot be written (a read-only cache: nothing is then remembered). */
function stamp(cacheDir: string): number {
  try {
    const fd = fs.openSync(path.join(cacheDir, STAMP), 'w')
    try {
      fs.writeSync(fd, 'x')
      return fs.fstatSync(fd).mtimeMs
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    return NaN
  }
}

export async function dataStatus(repo: Repo, opts: { paths?: string[] } = {}): Promise<PointerStatus[]> {
  cleanTemp(repo.cacheDir)
  const specs = opts.paths?.length ? pointerSpecs(repo, opts.paths) : undefined
  const pointers = await worktreePointers(repo, { paths: specs })
  if (specs && !pointers.length) throw new XpError('XP_NO_POINTER', `no data tracked at ${opts.paths!.join(', ')}`, { hint: 'track it with `xp add`' })
  const state = StatCache.load(repo.xpDir)
  const out: PointerStatus[] = []
  try {
    for (const p of pointers) {
      const oid = Oid.parse(p.oid)
      let recorded: { manifest: ManifestEntry[]; bytes: number } | null = null
      let missing = 0
      const stored = hasObject(repo.cacheDir, oid)
      // the folder as last hashed, when that gave this very manifest: its files are the manifest's
      const snap = oid.isDir ? state.snapshot(p.dataPath) : undefined
      if (!stored) missing++
      else if (snap?.oid === p.oid) missing += missingOfSnapshot(repo.cacheDir, state, snap)
      else if (oid.isDir) {
        // checked every time (a listing of the cache or one lstat per file): no stat-cache row may say "stored"
        recorded = await readManifestAsync(repo, p.oid)
        if (!recorded) missing++
        else {
          const absent = new Set(
            missingObjects(
              repo.cacheDir,
              recorded.manifest.map((e) => e.oid),
            ),
          )
          if (absent.size) for (const e of recorded.manifest) if (absent.has(e.oid)) missing++
        }
      }
      const base = { path: p.dataPath, pointer: p.pointerFile, oid: p.oid, missing }
      if (!fs.existsSync(path.join(repo.root, p.dataPath))) {
        out.push({ ...base, state: 'deleted', changes: [] })
        continue
      }
      const expected = recorded ? { oid: p.oid, ...recorded } : undefined
      const h = await hashPath({ root: repo.root, cacheDir: repo.cacheDir, state, store: false, expected }, p.dataPath)
      if (h.oid === p.oid) {
        out.push({ ...base, state: 'unchanged', changes: [] })
        continue
      }
      // changed since the snapshot, which stands for the recorded manifest: its entries are the manifest's
      if (!recorded && snap?.oid === p.oid && stored) recorded = { manifest: snapshotManifest(snap), bytes: snap.manifestBytes }
      const changes = recorded && h.manifest ? diffManifests(recorded.manifest, h.manifest).map((c) => ({ ...c, path: `${p.dataPath}/${c.path}` })) : []
      // a mode alone (a hardlinked checkout is read-only) is not a change of the data
      const sameBytes = recorded !== null && h.manifest !== undefined && changes.length === 0
      out.push({ ...base, state: sameBytes ? 'unchanged' : 'modified', changes })
    }
  } finally {
    state.save()
  }
  return out
}
