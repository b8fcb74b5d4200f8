/**
 * The transfer engine between the cache and a data remote: decide what moves (one
 * existence query for the whole set), move it with `jobs` transfers at once (streams, so
 * memory is bounded by jobs x stream buffers), report progress, and verify every download
 * against its oid before it is renamed into the cache: a corrupt object never enters it.
 */
import fs from 'node:fs'
import { getMaxListeners, setMaxListeners } from 'node:events'
import path from 'node:path'
import type { Context } from '../context.js'
import { XpError } from '../errors.js'
import { pool, type DataRemote } from '../../remotes/types.js'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { hashBytes, hashFile, hasher, SMALL_FILE } from '../cache/hash.js'
import { objectPath, Oid } from '../cache/oid.js'
import { corruptObject, missing, missingObjects, readVerified, tempPath, verifyObject, writeObjectWith } from '../cache/objects.js'
import { SecondWriter, threadFrom } from '../second-writer.js'
import type { FreshCheckout } from '../cache/materialize.js'

export const DEFAULT_JOBS = 16
/** objects moved synchronously between two turns of the event loop (progress, Ctrl-C, the large copies in flight) */
const BATCH = 128
/** large objects copied at once by a local remote: the kernel copies one while this thread hashes another (2 cores) */
const LOCAL_LARGE_JOBS = 2

function checkAborted(signal: AbortSignal | undefined) {
  if (signal?.aborted) throw signal.reason ?? new Error('aborted')
}

export interface TransferSummary {
  /** objects asked for */
  wanted: number
  /** objects that moved */
  transferred: number
  /** bytes that moved */
  bytes: number
  /** objects already at the destination */
  present: number
  /** upload only: objects of `mayLack` found in neither the cache nor the remote */
  lost?: number
}

export interface TransferOptions {
  jobs?: number
  /** upload only: oids that may be in neither place (data of runs the git remote has already); counted in `lost`, not an error */
  mayLack?: Set<string>
  /** download only: working-tree files written from each object as it arrives (a fresh clone's pull; materialize.ts FreshCheckout) */
  fresh?: Pick<FreshCheckout, 'wants' | 'sharedWriter' | 'placeBytes' | 'placeObject' | 'copiesOf' | 'placed'>
}

/**
 * Each transfer in flight listens to the command's one AbortSignal (stream pipelines and
 * the SDK add a listener per operation): with `jobs` of them Node's default limit of 10
 * prints MaxListenersExceededWarning, a false alarm. Raise the limit to what the pool
 * can hold at once.
 */
export function allowListeners(signal: AbortSignal | undefined, jobs: number): void {
  if (!signal) return
  const want = jobs * 4 + 16
  if (getMaxListeners(signal) < want) setMaxListeners(want, signal)
}

function progress(ctx: Context, phase: string, total: number, totalBytes: number) {
  let done = 0
  let bytes = 0
  let last = 0
  const emit = (force = false) => {
    const now = Date.now()
    if (!force && now - last < 100) return
    last = now
    ctx.onProgress?.({ phase, done, total, bytes, totalBytes })
  }
  return {
    bytes: (n: number) => ((bytes += n), emit()),
    object: () => (done++, emit()),
    end: () => emit(true),
  }
}

/**
 * Upload the objects the remote lacks. Objects missing from the local cache that the
 * remote has are fine; missing from both is XP_DATA_MISSING (nothing is uploaded then).
 *
 * @example
 * await uploadObjects(ctx, repo.cacheDir, remote, oids, { jobs: 8 })
 */
export async function uploadObjects(ctx: Context, cacheDir: string, remote: DataRemote, oids: string[], opts: TransferOptions = {}): Promise<TransferSummary> {
  const jobs = opts.jobs ?? DEFAULT_JOBS
  allowListeners(ctx.signal, jobs)
  const wanted = [...new Set(oids)]
  const onRemote = await remote.has(wanted, { jobs, signal: ctx.signal })
  // a copy the remote holds with the wrong size is damaged: sent again, not counted "there"
  const remoteSizes = remote.sizes
    ? await remote.sizes(
        wanted.filter((o) => onRemote.has(o)),
        { signal: ctx.signal },
      )
    : new Map<string, number>()
  const todo: Array<{ oid: string; file: string; size: number; replace: boolean }> = []
  const lost: string[] = []
  for (const oid of wanted) {
    const file = objectPath(cacheDir, oid)
    let size = -1
    try {
      size = fs.statSync(file).size
    } catch {
      // not here
    }
    const theirs = remoteSizes.get(oid)
    if (onRemote.has(oid) && (theirs === undefined || size < 0 || theirs === size)) continue
    if (size < 0) lost.push(oid)
    else todo.push({ oid, file, size, replace: onRemote.has(oid) })
  }
  const excused = opts.mayLack ? lost.filter((o) => opts.mayLack!.has(o)).length : 0
  if (lost.length > excused)
    throw new XpError(
      'XP_DATA_MISSING',
      `${lost.length} object${lost.length === 1 ? ' is' : 's are'} in neither the cache nor data remote "${remote.name}": ${lost.slice(0, 3).join(', ')}${lost.length > 3 ? ', …' : ''}`,
      {
        hint: 'pull them from where they were pushed (`xp pull --all-data`), or push without data (`--no-data`)',
        data: { oids: lost },
      },
    )
  // big objects first, so the long transfers overlap the many small ones
  todo.sort((a, b) => b.size - a.size)
  const p = progress(
    ctx,
    'uploading',
    todo.length,
    todo.reduce((s, t) => s + t.size, 0),
  )
  let bytes = 0
  if (remote.readSmall && remote.writeSmall && remote.putVerified) {
    // a remote on a local path: no streams, no thread-pool hop per object. Small objects are
    // read once, hashed in memory and written from the same bytes, in batches; large ones are
    // copied by the kernel while this thread hashes them, renamed into place only if intact.
    const writeSmall = remote.writeSmall.bind(remote)
    const putVerified = remote.putVerified.bind(remote)
    const large = todo.filter((t) => t.size > SMALL_FILE)
    const small = todo.filter((t) => t.size <= SMALL_FILE)
    const big = pool(
      large,
      LOCAL_LARGE_JOBS,
      async (t) => {
        await putVerified(t.oid, t.file, verifyObject(cacheDir, t.oid, t.file), { signal: ctx.signal, onBytes: p.bytes, replace: t.replace })
        bytes += t.size
        p.object()
      },
      ctx.signal,
    )
    big.catch(() => {}) // awaited below
    remote.beginSmall?.(small.length)
    try {
      for (let i = 0; i < small.length; i++) {
        if (i % BATCH === 0) {
          await yieldToLoop()
          checkAborted(ctx.signal)
        }
        const t = small[i]!
        // verified on the way out: a corrupt object is never uploaded (it is removed, and named)
        const b = await readVerified(cacheDir, t.oid)
        const n = b.length
        writeSmall(t.oid, b, { replace: t.replace })
        bytes += n
        p.bytes(n)
        p.object()
      }
    } catch (e) {
      await remote.endSmall?.().catch(() => {}) // the first error is the one to tell
      throw e
    } finally {
      await big.catch(() => {})
    }
    await remote.endSmall?.()
    await big
  } else
    await pool(
      todo,
      jobs,
      async (t) => {
        // verified on the way out: a corrupt object is never uploaded (it is removed, and named)
        const o = { signal: ctx.signal, onBytes: p.bytes, replace: t.replace }
        if (remote.uploadBytes && t.size <= SMALL_FILE) {
          // one read (off this thread: a synchronous read here starves the large uploads'
          // streams, which cost the server more CPU), hashed in memory, sent from the same bytes
          const b = await fs.promises.readFile(t.file).catch((e) => {
            throw (e as NodeJS.ErrnoException).code === 'ENOENT' ? missing(t.oid) : e
          })
          const got = hashBytes(await hasher(), b)
          if (got !== Oid.parse(t.oid).hash) throw corruptObject(cacheDir, t.oid, got)
          await remote.uploadBytes(t.oid, b, o)
        } else {
          await verifyObject(cacheDir, t.oid, t.file)
          await remote.put(t.oid, t.file, t.size, o)
        }
        bytes += t.size
        p.object()
      },
      ctx.signal,
    )
  p.end()
  return {
    wanted: wanted.length,
    transferred: todo.length,
    bytes,
    present: wanted.length - todo.length - lost.length,
    ...(lost.length ? { lost: lost.length } : {}),
  }
}

/**
 * Download the objects the cache lacks, each verified against its oid before it is renamed
 * into the cache. A corrupt object is XP_REMOTE_CORRUPT (exit 4) naming it; an object the
 * remote lacks is XP_REMOTE_OBJECT_MISSING.
 */
export async function downloadObjects(
  ctx: Context,
  cacheDir: string,
  remote: DataRemote,
  oids: string[],
  opts: TransferOptions = {},
): Promise<TransferSummary> {
  const jobs = opts.jobs ?? DEFAULT_JOBS
  allowListeners(ctx.signal, jobs)
  const wanted = [...new Set(oids)]
  const todo = missingObjects(cacheDir, wanted)
  const p = progress(ctx, 'downloading', todo.length, 0)
  let bytes = 0
  let rest = todo
  if (remote.readSmall) {
    // a remote on a local path: each small object read once, hashed in memory and written
    // to the cache from the same bytes, in batches (no streams, no thread-pool hop per object);
    // larger ones are left to the streaming path below
    const h = await hasher()
    rest = []
    // the objects written on two threads (SecondWriter), with a fresh clone's working-tree
    // copies through the same writer: whichever thread is free creates the next file
    const writer = opts.fresh ? opts.fresh.sharedWriter(todo.length) : new SecondWriter(threadFrom(todo.length, ctx.env))
    let failed: unknown
    const fail = (e: unknown) => {
      failed ??= e
    }
    try {
      for (let i = 0; i < todo.length; i++) {
        if (i % BATCH === 0) {
          await yieldToLoop()
          checkAborted(ctx.signal)
        }
        if (failed) throw failed
        const oid = todo[i]!
        const b = remote.readSmall(oid, SMALL_FILE)
        if (!b) {
          rest.push(oid)
          continue
        }
        const got = hashBytes(h, b)
        if (got !== Oid.parse(oid).hash) throw remoteCorrupt(remote, oid, got)
        writeObjectWith(writer, cacheDir, oid, b, fail)
        const n = b.length
        // the working tree's copies from the same verified bytes: no second read of the cache
        opts.fresh?.placeBytes(oid, b)
        bytes += n
        p.bytes(n)
        p.object()
      }
    } finally {
      // every object in place before this returns (the fresh clone's writer goes on for its copies)
      if (opts.fresh) await writer.settle()
      else await writer.finish()
    }
    if (failed) throw failed
  }
  await pool(
    rest,
    jobs,
    async (oid) => {
      const dest = objectPath(cacheDir, oid)
      const tmp = tempPath(cacheDir, oid)
      // a fresh clone's working-tree copies, written from the same read as the cache's (a local remote)
      const copies = remote.getHashed ? (opts.fresh?.copiesOf(oid) ?? []) : []
      try {
        // a remote on a local path hashes while it copies (one read); others download, then the copy is hashed
        const op = { signal: ctx.signal, onBytes: p.bytes }
        let got: { hash: string; size: number }
        if (remote.getHashed) got = await remote.getHashed(oid, tmp, { ...op, also: copies.map((c) => ({ path: c.path, mode: c.mode })) })
        else {
          await remote.get(oid, tmp, op)
          got = await hashFile(tmp)
        }
        if (got.hash !== Oid.parse(oid).hash) throw remoteCorrupt(remote, oid, got.hash)
        await fs.promises.chmod(tmp, 0o444)
        await fs.promises.mkdir(path.dirname(dest), { recursive: true })
        await fs.promises.rename(tmp, dest)
        if (copies.length) opts.fresh!.placed(oid, copies)
        else if (opts.fresh?.wants(oid)) await opts.fresh.placeObject(oid)
        bytes += got.size
        p.object()
      } finally {
        await fs.promises.rm(tmp, { force: true })
        for (const c of copies) await fs.promises.rm(c.path, { force: true })
      }
    },
    ctx.signal,
  )
  p.end()
  return { wanted: wanted.length, transferred: todo.length, bytes, present: wanted.length - todo.length }
}

function remoteCorrupt(remote: DataRemote, oid: string, got: string): XpError {
  return new XpError('XP_REMOTE_CORRUPT', `object ${oid} on data remote "${remote.name}" is corrupt (its bytes hash to ${got}); it was not put in the cache`, {
    hint: 'push it again from a clone that has it intact (delete the remote copy first)',
    data: { oid, got },
  })
}
