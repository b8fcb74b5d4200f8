/**
 * A folder as a data remote (local disk or a mounted share): the cache's layout below its
 * root, each object copied to a temporary name in its final folder and then renamed, so a
 * reader (or a push that died) never leaves a partial object under a real name.
 */
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import { XpError } from '../core/errors.js'
import { isTempName, modeNeedsChmod, tempNameFor } from '../core/fsutil.js'
import { hashCopyTo } from '../core/cache/tee.js'
import { SecondWriter, threadFrom, writeOne, type WriteDone } from '../core/second-writer.js'
import { objectKey, oidFromKey, chooseExistenceCheck, PREFIXES, pool, type DataRemote, type OpOptions } from './types.js'

export class FsRemote implements DataRemote {
  /** prefix folders known to exist (made once per process, not once per object) */
  private readonly madeDirs = new Set<string>()
  constructor(
    readonly name: string,
    readonly url: string,
    readonly root: string,
    /** the command's environment (XP_THREADS) */
    private readonly env: Record<string, string | undefined> = {},
  ) {}

  /** Make the object's prefix folder once; the remote's own folder must exist (an unmounted share must not silently receive the data on the local disk). */
  private dirFor(dest: string): void {
    const dir = path.dirname(dest)
    if (this.madeDirs.has(dir)) return
    if (!fs.existsSync(this.root)) throw unreachable(this)
    try {
      fs.mkdirSync(dir, { recursive: true })
    } catch (e) {
      throw remoteIoError(this, e)
    }
    this.madeDirs.add(dir)
  }

  readSmall(oid: string, max: number): Buffer | null {
    const src = this.file(oid)
    let fd: number
    try {
      fd = fs.openSync(src, 'r')
    } catch (e) {
      throw missingOrUnreachable(this, oid, e)
    }
    try {
      const size = fs.fstatSync(fd).size
      if (size > max) return null
      const bytes = Buffer.allocUnsafe(size)
      let got = 0
      while (got < size) {
        const n = fs.readSync(fd, bytes, got, size - got, got)
        if (n === 0) break
        got += n
      }
      return got === size ? bytes : bytes.subarray(0, got)
    } catch (e) {
      throw remoteIoError(this, e)
    } finally {
      fs.closeSync(fd)
    }
  }

  private writer: SecondWriter | undefined
  private writeFailure: XpError | undefined
  private readonly onWritten = (done: WriteDone) => {
    if (done.error) this.writeFailure ??= remoteIoError(this, done.error)
  }

  beginSmall(count: number): void {
    // hundreds of files: created on two threads (creating them is most of a push's time)
    this.writer = new SecondWriter(threadFrom(count, this.env))
  }

  async endSmall(): Promise<void> {
    const w = this.writer
    this.writer = undefined
    await w?.finish()
    const failure = this.writeFailure
    this.writeFailure = undefined
    if (failure) throw failure
  }

  writeSmall(oid: string, bytes: Uint8Array, _opts: { replace?: boolean } = {}): void {
    // the caller knows the object is absent (one listing) or damaged (replace): a rename over a twin's copy is harmless (same bytes)
    if (this.writeFailure) throw this.writeFailure
    const dest = this.file(oid)
    this.dirFor(dest)
    const job = { tmp: tempNameFor(dest), dest, mode: 0o444, chmod: modeNeedsChmod(0o444) }
    if (this.writer) this.writer.write(job, bytes, this.onWritten)
    else {
      const done = writeOne(job, bytes)
      if (done.error) throw remoteIoError(this, done.error)
    }
  }

  async putVerified(oid: string, src: string, verified: Promise<void>, opts: OpOptions & { replace?: boolean } = {}): Promise<void> {
    const dest = this.file(oid)
    try {
      this.dirFor(dest)
    } catch (e) {
      verified.catch(() => {}) // the caller's; this error is the one that counts
      throw e
    }
    const tmp = tempNameFor(dest)
    try {
      // the kernel copies (a reflink where it can) on the thread pool while the caller hashes the source
      const copying = fs.promises.copyFile(src, tmp, fs.constants.COPYFILE_FICLONE)
      copying.catch(() => {}) // awaited below
      try {
        await verified
      } finally {
        await copying.catch(() => {})
      }
      await copying
      const st = fs.statSync(tmp)
      if ((st.mode & 0o777) !== 0o444) fs.chmodSync(tmp, 0o444)
      opts.onBytes?.(st.size)
      fs.renameSync(tmp, dest)
    } catch (e) {
      fs.rmSync(tmp, { force: true })
      throw remoteIoError(this, e)
    }
  }

  private file(oid: string) {
    return path.join(this.root, ...objectKey(oid).split('/'))
  }

  async has(oids: string[], opts: OpOptions & { jobs?: number } = {}): Promise<Set<string>> {
    if (!fs.existsSync(this.root)) return new Set()
    // a readdir of one prefix folder estimates the remote's size
    let sample = 0
    try {
      sample = fs.readdirSync(path.join(this.root, oids[0]?.slice(0, 2) ?? '00')).length
    } catch {
      // no such prefix yet
    }
    if (chooseExistenceCheck(oids.length, sample * 256) === 'list') {
      const all = await this.list(opts)
      return new Set(oids.filter((o) => all.has(o)))
    }
    const found = new Set<string>()
    for (const oid of oids) if (fs.existsSync(this.file(oid))) found.add(oid)
    return found
  }

  async get(oid: string, dest: string, opts: OpOptions = {}): Promise<void> {
    const src = this.file(oid)
    let input: fs.ReadStream
    try {
      await fs.promises.access(src)
      input = fs.createReadStream(src, { highWaterMark: 1024 * 1024 })
    } catch (e) {
      throw missingOrUnreachable(this, oid, e)
    }
    await pipeline(input, counter(opts.onBytes), fs.createWriteStream(dest), { signal: opts.signal })
  }

  async getHashed(oid: string, dest: string, opts: OpOptions & { also?: Array<{ path: string; mode: number }> } = {}): Promise<{ hash: string; size: number }> {
    try {
      // the writes on the thread pool while this thread reads and hashes the next chunk
      const got = await hashCopyTo(this.file(oid), [{ path: dest, mode: 0o444 }, ...(opts.also ?? [])])
      opts.onBytes?.(got.size)
      return got
    } catch (e) {
      throw missingOrUnreachable(this, oid, e)
    }
  }

  async sizes(oids: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const oid of oids) {
      try {
        out.set(oid, fs.statSync(this.file(oid)).size)
      } catch {
        // absent
      }
    }
    return out
  }

  async put(oid: string, src: string, _size: number, opts: OpOptions & { replace?: boolean } = {}): Promise<void> {
    const dest = this.file(oid)
    if (!opts.replace && fs.existsSync(dest)) return
    // the folder must exist: an unmounted share must not silently receive the data on the local disk
    if (!fs.existsSync(this.root)) throw unreachable(this)
    try {
      await fs.promises.mkdir(path.dirname(dest), { recursive: true })
    } catch (e) {
      throw remoteIoError(this, e)
    }
    const tmp = tempNameFor(dest)
    try {
      await pipeline(fs.createReadStream(src, { highWaterMark: 1024 * 1024 }), counter(opts.onBytes), fs.createWriteStream(tmp), { signal: opts.signal })
      await fs.promises.chmod(tmp, 0o444)
      await fs.promises.rename(tmp, dest)
    } catch (e) {
      await fs.promises.rm(tmp, { force: true })
      throw remoteIoError(this, e)
    }
  }

  async list(opts: OpOptions & { jobs?: number } = {}): Promise<Set<string>> {
    const out = new Set<string>()
    if (!fs.existsSync(this.root)) return out
    const temps: string[] = []
    await pool(PREFIXES, opts.jobs ?? 8, async (p) => {
      let names: string[]
      try {
        names = await fs.promises.readdir(path.join(this.root, p))
      } catch {
        return
      }
      for (const n of names) {
        const oid = oidFromKey(`${p}/${n}`)
        if (oid) out.add(oid)
        else if (isTempName(n)) temps.push(path.join(this.root, p, n))
      }
    })
    removeStaleTemps(temps)
    return out
  }

  /**
   * Make the remote's folder, when asked to (`xp push --create-remote`, `xp remote add
   * --create`): its parent must exist unless `parents`, so that a path under an unmounted
   * share is refused rather than created on the local disk.
   */
  create(opts: { parents?: boolean } = {}): void {
    if (fs.existsSync(this.root)) return
    if (!opts.parents && !fs.existsSync(path.dirname(this.root)))
      throw new XpError('XP_REMOTE_UNREACHABLE', `data remote "${this.name}": neither ${this.root} nor its parent folder exists`, {
        hint: 'is the share mounted? create the parent folder first',
      })
    try {
      fs.mkdirSync(this.root, { recursive: Boolean(opts.parents) })
    } catch (e) {
      throw remoteIoError(this, e)
    }
  }

  close(): void {}
}

/** A temporary file untouched this long was left by a push that died (its writer, on any machine, writes it continuously). */
export const STALE_TEMP_MS = 24 * 3600 * 1000

/**
 * Remove the temporary files a killed push left beside the remote's objects (never under
 * an object's name: those are renamed into place whole), once a day has passed since they
 * were last written: a listing of the remote finds them, and without this they stayed for
 * good (a killed push of a 10 GiB file: 10 GiB). A remote that cannot be written to keeps
 * them.
 */
function removeStaleTemps(files: string[]): void {
  const now = Date.now()
  for (const f of files) {
    try {
      if (now - fs.lstatSync(f).mtimeMs > STALE_TEMP_MS) fs.rmSync(f, { force: true })
    } catch {
      // gone meanwhile, or a read-only remote
    }
  }
}

/** Count bytes as they pass. */
export function counter(onBytes?: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes?.(chunk.length)
      cb(null, chunk)
    },
  })
}

/** The folder of a folder remote is absent: it is never created by a push without being asked. */
export function unreachable(r: { name: string; root: string }): XpError {
  return new XpError('XP_REMOTE_UNREACHABLE', `data remote "${r.name}": folder ${r.root} does not exist`, {
    hint: 'is the share mounted? check the URL with `xp remote list`; to start a new remote there, `xp push --create-remote` (its parent folder must exist) or `xp remote add NAME URL --create`',
  })
}

function missingOrUnreachable(r: FsRemote, oid: string, e: unknown): XpError {
  const code = (e as NodeJS.ErrnoException).code
  if (code === 'ENOENT' && !fs.existsSync(r.root)) return unreachable(r)
  if (code === 'ENOENT')
    return new XpError('XP_REMOTE_OBJECT_MISSING', `data remote "${r.name}" has no object ${oid}`, {
      hint: `push it there from the clone that has it (\`xp push -r ${r.name}\`)`,
      data: { oid },
    })
  return remoteIoError(r, e)
}

function remoteIoError(r: FsRemote, e: unknown): XpError {
  const err = e as NodeJS.ErrnoException
  if (err instanceof XpError) return err
  if (err?.name === 'AbortError') return new XpError('XP_INTERRUPTED', 'interrupted', {})
  return new XpError('XP_REMOTE_IO', `data remote "${r.name}" (${r.root}): ${err?.code ?? ''} ${err?.message ?? String(e)}`.trim(), {
    hint: 'check that the folder is writable and has space',
  })
}
