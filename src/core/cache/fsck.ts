/**
 * `xp fsck`: rehash every object in the cache and name those whose bytes no longer match
 * their oid (and manifests that no longer parse).
 */
import type { Repo } from '../repo.js'
import { XpError } from '../errors.js'
import { hashFile, hasher, hashBytes } from './hash.js'
import { Oid } from './oid.js'
import { listObjects, readObject, cleanTemp } from './objects.js'
import { decodeManifest } from './manifest.js'

export interface FsckResult {
  checked: number
  bytes: number
  corrupt: Array<{ oid: string; path: string; problem: string }>
}

export async function fsckCache(repo: Repo): Promise<FsckResult> {
  cleanTemp(repo.cacheDir)
  const h = await hasher()
  const res: FsckResult = { checked: 0, bytes: 0, corrupt: [] }
  for (const o of listObjects(repo.cacheDir)) {
    const oid = Oid.parse(o.oid)
    res.checked++
    res.bytes += o.size
    repo.ctx.onProgress?.({ phase: 'checking', done: res.checked, bytes: res.bytes })
    try {
      if (oid.isDir) {
        const bytes = readObject(repo.cacheDir, oid)
        const actual = hashBytes(h, bytes)
        if (actual !== oid.hash) res.corrupt.push({ oid: o.oid, path: o.file, problem: `content hashes to ${actual}` })
        else decodeManifest(bytes, `manifest ${o.oid}`)
      } else {
        const actual = (await hashFile(o.file)).hash
        if (actual !== oid.hash) res.corrupt.push({ oid: o.oid, path: o.file, problem: `content hashes to ${actual}` })
      }
    } catch (e) {
      if (!(e instanceof XpError)) throw e
      res.corrupt.push({ oid: o.oid, path: o.file, problem: e.message })
    }
  }
  return res
}
