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
import { StatCache } from './state.js'
import { hashPath } from './workspace.js'
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
      let recorded: ManifestEntry[] | null = null
      let missing = 0
      if (!hasObject(repo.cacheDir, oid)) missing++
      else if (oid.isDir) {
        // checked every time (a listing of the cache or one lstat per file): no stat-cache row may say "stored"
        try {
          recorded = decodeManifest(await readVerified(repo.cacheDir, oid), `manifest ${p.oid}`)
          const absent = new Set(
            missingObjects(
              repo.cacheDir,
              recorded.map((e) => e.oid),
            ),
          )
          if (absent.size) for (const e of recorded) if (absent.has(e.oid)) missing++
        } catch (e) {
          if (!(e instanceof XpError)) throw e
          // a damaged manifest was removed: it counts as missing, and the data is still compared by hash
          repo.ctx.warn(e.message)
          missing++
        }
      }
      const base = { path: p.dataPath, pointer: p.pointerFile, oid: p.oid, missing }
      if (!fs.existsSync(path.join(repo.root, p.dataPath))) {
        out.push({ ...base, state: 'deleted', changes: [] })
        continue
      }
      const expected = recorded ? { oid: p.oid, manifest: recorded } : undefined
      const h = await hashPath({ root: repo.root, cacheDir: repo.cacheDir, state, store: false, expected }, p.dataPath)
      if (h.oid === p.oid) {
        out.push({ ...base, state: 'unchanged', changes: [] })
        continue
      }
      const changes = recorded && h.manifest ? diffManifests(recorded, h.manifest).map((c) => ({ ...c, path: `${p.dataPath}/${c.path}` })) : []
      // a mode alone (a hardlinked checkout is read-only) is not a change of the data
      const sameBytes = recorded !== null && h.manifest !== undefined && changes.length === 0
      out.push({ ...base, state: sameBytes ? 'unchanged' : 'modified', changes })
    }
  } finally {
    state.save()
  }
  return out
}
