/**
 * Small files written on a second thread, for the three commands that create thousands of
 * them: `xp add` of a folder (the cache's objects), push to a folder remote (the remote's
 * copies) and a fresh clone's pull (the working tree's files). Creating a file is most of
 * what each costs (in the kernel: inode allocation, 1.1-2.1 s of `open` in the loaded
 * profiles, where reading and hashing were 0.3-0.5 s), and done on the thread that reads
 * and hashes it leaves the second core idle. The thread pool overlaps them but costs ~10
 * `futex` calls and a wake-up per file; this worker takes the files in batches: their
 * bytes copied into a 4 MiB buffer that is transferred with the batch and handed back to
 * be filled again (a fresh buffer per batch cost 227 ms of page faults on a 5,001-file
 * add), sent once it holds SEND_EVERY files, is full, or at the next turn of the event
 * loop. Each file is written as on this thread (`writeOne`, the same function): a
 * temporary name beside its destination created new with the mode (`fchmod` when the umask
 * would clear bits of it), the bytes, optionally its stat, a rename into place. A failed
 * write removes its temporary file and is reported, never thrown on the worker: nothing
 * half-written is ever renamed. Every file's `onDone` runs on the caller's thread.
 *
 * While the worker holds MAX_HELD bytes (or MAX_BATCHES batches), the caller's thread
 * writes the next file itself: both threads create files then, whatever the balance of
 * the work, and memory stays bounded. The worker is unref'd while idle (a caller that
 * failed and never calls `finish` does not keep the process alive) and ref'd while it
 * holds files. It is a few lines of CommonJS run with `eval`: no bundle entry, no module
 * to load (it starts in ~35 ms, on the other core). When it is used: `threadFrom`.
 */
import fs from 'node:fs'
import { Worker } from 'node:worker_threads'

export interface WriteJob {
  /** temporary name beside `dest` (must not exist) */
  tmp: string
  dest: string
  mode: number
  /** fchmod to `mode` (the umask would clear some of its bits) */
  chmod: boolean
  /** report the written file's stat (ino, mtimeMs, size) */
  stat?: boolean
}

export interface WriteDone {
  stat?: { ino: number; mtimeMs: number; size: number }
  /** the write failed (its temporary file is removed): the errno error, `code` and message, for the caller to map */
  error?: NodeJS.ErrnoException
}

/** what a write returns on either thread (plain data: it crosses threads) */
interface Result {
  stat?: { ino: number; mtimeMs: number; size: number }
  error?: { code?: string; message: string }
}

/**
 * The number of files written on this thread before the second one starts (Infinity:
 * never), for `files` files to write (undefined: not known beforehand, `xp add` of
 * folders). The thread costs ~30 ms of CPU to start, on the other core (3 ms on this one),
 * and a file is created in 50-300 µs here: from SECOND_THREAD_FROM files it is used,
 * whatever the machine's other work. (Push and pull once also asked that the one-minute
 * load average leave a core free: the same command then ran differently from one minute to
 * the next, and measured, the thread took 30 % off add and push with a core free and still
 * took time off with another busy process beside it: docs/data.md, "One writing thread".)
 * When the count is not known, the first SECOND_THREAD_FROM files are written here and the
 * thread starts only for an add that has more. `XP_THREADS=1` never uses it, `XP_THREADS=2`
 * always does (from the first file).
 *
 * @example
 * const w = new SecondWriter(threadFrom(5001, repo.ctx.env)) // the thread from the first file
 */
export function threadFrom(files: number | undefined, env: Record<string, string | undefined>): number {
  if (env.XP_THREADS === '1') return Infinity
  if (env.XP_THREADS === '2') return 0
  if (files === undefined) return SECOND_THREAD_FROM
  return files >= SECOND_THREAD_FROM ? 0 : Infinity
}

/** files from which a second thread is worth its start */
export const SECOND_THREAD_FROM = 500

/**
 * Write one file on this thread: a failure is returned (its temporary file removed), not thrown.
 *
 * @example
 * const done = writeOne({ tmp: tempNameFor(dest), dest, mode: 0o444, chmod: false }, bytes)
 */
export function writeOne(job: WriteJob, bytes: Uint8Array): WriteDone {
  return done(writeWith(fs, job, bytes))
}

function done(r: Result): WriteDone {
  if (!r.error) return r as WriteDone
  return { error: Object.assign(new Error(r.error.message), { code: r.error.code }) }
}

/** one file: the same code on both threads (stringified into the worker; it must use only its arguments) */
function writeWith(fs: typeof import('node:fs'), j: WriteJob, bytes: Uint8Array): Result {
  let fd = -1
  try {
    fd = fs.openSync(j.tmp, 'wx', j.mode)
    for (let w = 0; w < bytes.length; ) w += fs.writeSync(fd, bytes, w, bytes.length - w)
    if (j.chmod) fs.fchmodSync(fd, j.mode)
    const st = j.stat ? fs.fstatSync(fd) : undefined
    fs.closeSync(fd)
    fd = -1
    fs.renameSync(j.tmp, j.dest)
    return st ? { stat: { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size } } : {}
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd)
    try {
      fs.rmSync(j.tmp, { force: true })
    } catch {
      // nothing more to do
    }
    const err = e as NodeJS.ErrnoException
    return { error: { code: err.code, message: err.message } }
  }
}

const WORKER_CODE = `
const fs = require('node:fs')
const { parentPort } = require('node:worker_threads')
const writeWith = ${writeWith.toString()}
parentPort.on('message', ({ id, buf, jobs }) => {
  const done = jobs.map((j) => writeWith(fs, j, new Uint8Array(buf, j.off, j.len)))
  parentPort.postMessage({ id, done, buf }, [buf]) // the buffer goes back, to be filled again
})
`

/** a batch's buffer (a small file is at most 1 MiB; a larger one gets a buffer of its own) */
const BATCH_BYTES = 4 * 1024 * 1024
/** files in a batch, beyond which it is sent without waiting for the event loop's turn (the worker starts early) */
const SEND_EVERY = 32
/** bytes handed to the worker and not written yet, beyond which this thread writes */
const MAX_HELD = 16 * 1024 * 1024
/** batches out (their buffers, 4 MiB each), beyond which this thread writes */
const MAX_BATCHES = 8

interface Batch {
  id: number
  buf: Uint8Array
  used: number
  jobs: Array<WriteJob & { off: number; len: number }>
  onDone: Array<(done: WriteDone) => void>
}

/**
 * Writes small files, on a second thread when `threadFrom` says so, else on this one.
 *
 * @example
 * const w = new SecondWriter(threadFrom(files.length, ctx.env))
 * for (const f of files) w.write({ tmp: tempNameFor(f.dest), dest: f.dest, mode: 0o644, chmod: false }, f.bytes, (d) => d.error && fail(d.error))
 * await w.finish()
 */
export class SecondWriter {
  private worker: Worker | undefined
  private started = false
  private writes = 0
  private batch: Batch | undefined
  private readonly sent = new Map<number, Batch>()
  private held = 0
  private seq = 0
  private scheduled = false
  /** batch buffers back from the worker: a fresh 4 MiB buffer costs a page fault per 4 KiB touched */
  private readonly spare: ArrayBuffer[] = []
  private idle: (() => void) | undefined

  /** @param from files written on this thread before the worker starts (`threadFrom`) */
  constructor(private readonly from: number) {}

  private start() {
    this.started = true
    let w: Worker
    try {
      w = new Worker(WORKER_CODE, { eval: true })
    } catch {
      return // no thread: this one writes everything
    }
    this.worker = w
    w.unref() // referenced only while it holds files
    w.on('message', (m: { id: number; done: Result[]; buf: ArrayBuffer }) => this.returned(m))
    w.on('error', (e) => this.lost(e))
    w.on('exit', () => this.lost(new Error('the writing thread stopped')))
  }

  /** Whether this writer ever starts a thread (else every write is done here and now, nothing is ever pending). */
  get mayThread(): boolean {
    return this.from !== Infinity
  }

  /** True when a write now goes to the worker (false: `write` writes on this thread, and `onDone` runs before it returns). */
  hasRoom(): boolean {
    if (!this.started && this.writes >= this.from) this.start()
    return this.worker !== undefined && this.held < MAX_HELD && this.sent.size < MAX_BATCHES
  }

  /**
   * Write `bytes` (copied now: the caller may reuse its buffer) to `job.tmp`, then rename
   * it to `job.dest`: on the worker when it has room, else here and now. `onDone` runs on
   * this thread once the file is in place or failed.
   */
  write(job: WriteJob, bytes: Uint8Array, onDone: (done: WriteDone) => void): void {
    const room = this.hasRoom()
    this.writes++
    if (!room) {
      onDone(writeOne(job, bytes))
      return
    }
    let b = this.batch
    if (b && b.used + bytes.length > b.buf.length) {
      this.send()
      b = undefined
    }
    if (!b) {
      const buf = bytes.length <= BATCH_BYTES ? new Uint8Array(this.spare.pop() ?? new ArrayBuffer(BATCH_BYTES)) : new Uint8Array(bytes.length)
      b = this.batch = { id: ++this.seq, buf, used: 0, jobs: [], onDone: [] }
    }
    b.buf.set(bytes, b.used)
    b.jobs.push({ ...job, off: b.used, len: bytes.length })
    b.used += bytes.length
    this.held += bytes.length
    b.onDone.push(onDone)
    if (b.jobs.length >= SEND_EVERY) this.send()
    else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => {
        this.scheduled = false
        this.send()
      })
    }
  }

  private send() {
    const b = this.batch
    if (!b || !this.worker) return
    this.batch = undefined
    if (!this.sent.size) this.worker.ref() // it holds files: the process waits for them
    this.sent.set(b.id, b)
    const buf = b.buf.buffer as ArrayBuffer
    this.worker.postMessage({ id: b.id, buf, jobs: b.jobs }, [buf])
  }

  private returned(m: { id: number; done: Result[]; buf: ArrayBuffer }) {
    if (m.buf.byteLength === BATCH_BYTES) this.spare.push(m.buf)
    const b = this.sent.get(m.id)
    if (!b) return
    this.sent.delete(m.id)
    this.held -= b.used
    if (!this.sent.size) this.worker?.unref()
    m.done.forEach((r, i) => {
      b.onDone[i]!(done(r))
    })
    if (!this.sent.size && !this.batch) this.idle?.()
  }

  /**
   * The worker died: what it held failed (its temporary files removed here: it may have
   * died in the middle of one), the batch not sent yet is written here, and this thread
   * writes from now on.
   */
  private lost(e: unknown) {
    const w = this.worker
    if (!w) return
    this.worker = undefined
    const error = Object.assign(new Error(`the writing thread failed: ${(e as Error)?.message ?? String(e)}`), { code: (e as NodeJS.ErrnoException)?.code })
    const held = [...this.sent.values()]
    const unsent = this.batch
    this.sent.clear()
    this.batch = undefined
    this.held = 0
    for (const b of held)
      b.jobs.forEach((j, i) => {
        fs.rmSync(j.tmp, { force: true })
        b.onDone[i]!({ error })
      })
    unsent?.jobs.forEach((j, i) => {
      unsent.onDone[i]!(writeOne(j, unsent.buf.subarray(j.off, j.off + j.len)))
    })
    void w.terminate()
    this.idle?.()
  }

  /** Wait until every file handed over so far is written (or failed: each `onDone` has run); the worker stays for more. */
  async settle(): Promise<void> {
    this.send()
    if (this.worker && this.sent.size) await new Promise<void>((r) => (this.idle = r))
    this.idle = undefined
  }

  /** Wait until every file is written (or failed: each `onDone` has run), then stop the worker. */
  async finish(): Promise<void> {
    await this.settle()
    const w = this.worker
    this.worker = undefined
    if (w) {
      w.removeAllListeners('exit')
      await w.terminate()
    }
  }
}
