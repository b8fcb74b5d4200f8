/**
 * The one interface every data remote implements. A remote stores cache objects under
 * the cache's own layout (`<2 hex>/<30 hex>[.dir]` below its root); it moves bytes and
 * nothing else: deciding what to send and verifying what arrives is the transfer engine's.
 */
import { Oid } from '../core/cache/oid.js'

export interface OpOptions {
  signal?: AbortSignal
  /** bytes moved so far by this operation (for the progress bar) */
  onBytes?: (n: number) => void
}

export interface DataRemote {
  /** the remote's name in xp.yaml, or its URL when opened by URL */
  readonly name: string
  readonly url: string
  /**
   * Which of `oids` the remote holds. Implementations pick a listing or per-object checks
   * by count (see chooseExistenceCheck).
   */
  has(oids: string[], opts?: OpOptions & { jobs?: number }): Promise<Set<string>>
  /** Write the object's bytes to `dest` (a temporary file the caller verifies and renames). */
  get(oid: string, dest: string, opts?: OpOptions): Promise<void>
  /** Store a file as the object `oid`; readers never see a partial object. With `replace`, an existing copy is overwritten (it was found damaged). */
  put(oid: string, src: string, size: number, opts?: OpOptions & { replace?: boolean }): Promise<void>
  /**
   * Optional: the sizes of the stored copies of `oids` (absent ones left out), where the
   * remote can tell cheaply. Push compares them with the cache and re-uploads a copy whose
   * size is wrong instead of counting it "already there".
   */
  sizes?(oids: string[], opts?: OpOptions): Promise<Map<string, number>>
  /**
   * Optional, for a remote on a local path (a folder): a small object's bytes, read at once
   * (null when it is larger than `max`: stream it with `get`). XP_REMOTE_OBJECT_MISSING
   * when absent. The caller verifies the bytes before they enter the cache.
   */
  readSmall?(oid: string, max: number): Buffer | null
  /**
   * Optional, with readSmall: store bytes held in memory, already verified by the caller,
   * synchronously (a temporary name, then renamed). With `replace`, an existing copy is overwritten.
   * The remote may take `bytes` (between beginSmall and endSmall): the caller must not use them after.
   */
  writeSmall?(oid: string, bytes: Uint8Array, opts?: { replace?: boolean }): void
  /**
   * Optional, with writeSmall: `count` small objects follow (the remote may write them on a
   * second thread: a failure then surfaces at a later writeSmall or at endSmall, which waits
   * for every write; call it in a `finally`).
   */
  beginSmall?(count: number): void
  endSmall?(): Promise<void>
  /**
   * Optional, with readSmall: copy a file as the object `oid` (by the kernel), renaming it
   * into place only once `verified` resolves; when it rejects, nothing is stored. Lets the
   * caller hash the source while it is copied.
   */
  putVerified?(oid: string, src: string, verified: Promise<void>, opts?: OpOptions & { replace?: boolean }): Promise<void>
  /**
   * Optional, for a network remote: store a small object's bytes, held in memory and
   * already verified by the caller (one read of the cache: hashed, then sent from the same
   * bytes). Readers never see a partial object.
   */
  uploadBytes?(oid: string, bytes: Buffer, opts?: OpOptions & { replace?: boolean }): Promise<void>
  /**
   * Optional, for a remote on a local path: copy the object to `dest` (which must not exist),
   * hashing the bytes written on the way (one read). The caller compares the hash. `also`:
   * more new files written from the same read (a fresh clone's working-tree copies).
   */
  getHashed?(oid: string, dest: string, opts?: OpOptions & { also?: Array<{ path: string; mode: number }> }): Promise<{ hash: string; size: number }>
  /** Every oid on the remote. */
  list(opts?: OpOptions & { jobs?: number }): Promise<Set<string>>
  close(): void
}

/** Key of an object below a remote's root: `<2 hex>/<30 hex>[.dir]`, as in the cache. */
export function objectKey(oid: string): string {
  return Oid.parse(oid).key
}

/** The oid a key names, or null (temporary files, foreign files). */
export function oidFromKey(key: string): string | null {
  const m = /(?:^|\/)([0-9a-f]{2})\/([0-9a-f]{30}(?:\.dir)?)$/.exec(key)
  return m ? `${m[1]}${m[2]}` : null
}

/**
 * Listing or existence checks? A listing costs about one request per 1,000 objects on the
 * remote (at least one per prefix listed); checks cost one request per object asked about.
 * DVC's lesson: with few objects to move, checks win by far on a big remote.
 *
 * @example
 * chooseExistenceCheck(10, 1_000_000) // 'check'
 * chooseExistenceCheck(5000, 2000)    // 'list'
 */
export function chooseExistenceCheck(wanted: number, estimatedRemoteCount: number, prefixes = 256): 'list' | 'check' {
  if (wanted === 0) return 'check'
  const listCost = Math.max(prefixes, Math.ceil(estimatedRemoteCount / 1000))
  return listCost < wanted ? 'list' : 'check'
}

/** The 256 two-hex prefixes objects are spread over. */
export const PREFIXES: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Run `fn` over items with at most `jobs` at once; the first error stops new work and is thrown. */
export async function pool<T>(items: T[], jobs: number, fn: (item: T, index: number) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0
  let failed: unknown = null
  const worker = async () => {
    while (failed === null && next < items.length) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted')
      const i = next++
      try {
        await fn(items[i]!, i)
      } catch (e) {
        if (failed === null) failed = e
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker))
  if (failed !== null) throw failed
}
