/**
 * Small files written on a second thread (2 cores: creating a file is most of what a pull
 * or a push of many small objects costs, in the kernel, and one thread creates them one at
 * a time). The caller hands over bytes it has verified already and a temporary name; the
 * worker writes them there (created new, with the mode; `fchmod` when the umask would clear
 * bits of it), optionally takes their stat, and renames the file into place; a failed write
 * removes its temporary file and is reported, never thrown on the worker. When the worker
 * holds more than `MAX_INFLIGHT` bytes (or the set is small), the caller's thread writes
 * the file itself, the same way: the two threads share the work whatever its balance,
 * and memory stays bounded. The worker is a few lines of CommonJS run with `eval`: no
 * bundle entry of its own, no module to load (it starts in ~35 ms, on the other core).
 */
import fs from 'node:fs'
import os from 'node:os'
import { Worker } from 'node:worker_threads'

export interface WriteJob {
  /** temporary name beside `dest` (must not exist) */
  tmp: string
  dest: string
  bytes: Uint8Array
  mode: number
  /** fchmod to `mode` (the umask would clear some of its bits) */
  chmod: boolean
  /** report the written file's stat (ino, mtimeMs, size) */
  stat: boolean
  /** the caller gives its buffer away (not copied to the worker: it is unusable after) */
  give?: boolean
  size?: number
}

export interface WriteDone {
  stat?: { ino: number; mtimeMs: number; size: number }
  /** the error's code and message when the write failed (the temporary file is removed) */
  error?: { code?: string; message: string }
}

/** files from which a second thread is worth its start (~35 ms on the other core; a file is created in 50-300 µs here) */
export const SECOND_THREAD_FROM = 1000

/**
 * Whether `files` files are worth a second thread: enough of them, and a core to run it on.
 * A second thread only pays when a core is idle: on a machine busy with other work it adds
 * CPU (its start, and two writers of one journal) and takes no time off (measured: 0.2-1.0 s
 * more CPU for a 5,000-file push at load average 3-9 on 2 cores). So it is used when the
 * one-minute load average leaves a core free (below cores - 0.5); `XP_THREADS=1` never
 * uses it, `XP_THREADS=2` always does.
 */
export function secondThreadPays(files: number, env: Record<string, string | undefined>): boolean {
  if (env.XP_THREADS === '1') return false
  if (env.XP_THREADS === '2') return files > 0
  if (files < SECOND_THREAD_FROM) return false
  const cores = os.availableParallelism()
  return cores > 1 && os.loadavg()[0]! < cores - 0.5
}

/** Write one file on this thread (a failure is returned, its temporary file removed). */
export function writeOne(job: WriteJob): WriteDone {
  return writeWith(fs, job)
}

/** one file: the same code on both threads (stringified into the worker; it must use only its arguments) */
function writeWith(fs: typeof import('node:fs'), j: WriteJob): WriteDone {
  let fd = -1
  try {
    fd = fs.openSync(j.tmp, 'wx', j.mode)
    for (let w = 0; w < j.bytes.length; ) w += fs.writeSync(fd, j.bytes, w, j.bytes.length - w)
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
parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, done: m.jobs.map((j) => writeWith(fs, j)) }))
`

/** bytes handed to the worker and not written yet, beyond which this thread writes */
const MAX_INFLIGHT = 16 * 1024 * 1024
/** jobs sent to the worker in one message */
const SEND_EVERY = 16

export class SecondWriter<T> {
  private worker: Worker | undefined
  private batch: Array<{ job: WriteJob; tag: T }> = []
  private readonly sent = new Map<number, Array<{ job: WriteJob; tag: T }>>()
  private nextId = 0
  private inflight = 0
  private failure: unknown
  private idle: (() => void) | undefined

  /**
   * @param onDone called on the caller's thread for every file, written or failed (in no particular order)
   * @param useWorker start the second thread (worth it for hundreds of files, not for a few)
   */
  constructor(
    private readonly onDone: (tag: T, done: WriteDone) => void,
    useWorker: boolean,
  ) {
    if (!useWorker) return
    try {
      this.worker = new Worker(WORKER_CODE, { eval: true })
    } catch {
      return // no thread: this one writes everything
    }
    this.worker.unref() // a caller that never calls finish (it failed) does not keep the process alive
    this.worker.on('message', (m: { id: number; done: WriteDone[] }) => {
      const jobs = this.sent.get(m.id)!
      this.sent.delete(m.id)
      jobs.forEach((j, i) => {
        this.inflight -= j.job.size!
        this.onDone(j.tag, m.done[i]!)
      })
      if (!this.sent.size) this.idle?.()
    })
    this.worker.on('error', (e) => {
      this.failure = e
      this.idle?.()
    })
  }

  /** Write one file: on the worker when it has room, else here and now. */
  write(job: WriteJob, tag: T): void {
    if (!this.worker || this.failure || this.inflight >= MAX_INFLIGHT) {
      this.onDone(tag, writeOne(job))
      return
    }
    job.size = job.bytes.length // (a buffer given away reads 0 once moved)
    this.inflight += job.size
    this.batch.push({ job, tag })
    if (this.batch.length >= SEND_EVERY) this.send()
  }

  private send() {
    if (!this.batch.length) return
    const id = this.nextId++
    this.sent.set(id, this.batch)
    // bytes given away move to the worker (a buffer that is a view into a larger one, Node's pool, is copied)
    const moved: ArrayBuffer[] = []
    for (const { job } of this.batch) {
      const b = job.bytes
      if (job.give && b.byteOffset === 0 && b.buffer instanceof ArrayBuffer && b.byteLength === b.buffer.byteLength) moved.push(b.buffer)
    }
    this.worker!.postMessage({ id, jobs: this.batch.map((b) => b.job) }, moved)
    this.batch = []
  }

  /** Wait until every file is written (or failed), then stop the worker. */
  async finish(): Promise<void> {
    if (this.worker && !this.failure) {
      this.send()
      // held (ref) while it has files to write: an unref'd worker would let the process exit before they are written
      this.worker.ref()
      if (this.sent.size) await new Promise<void>((r) => (this.idle = r))
    }
    // a worker that died: what it held is written here
    for (const jobs of this.sent.values()) for (const j of jobs) this.onDone(j.tag, writeOne(j.job))
    this.sent.clear()
    for (const j of this.batch) this.onDone(j.tag, writeOne(j.job))
    this.batch = []
    await this.worker?.terminate()
    this.worker = undefined
  }
}
