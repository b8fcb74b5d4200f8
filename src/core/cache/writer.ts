/**
 * Writing small objects on a second thread. Creating a file is most of what storing a
 * small file costs (the kernel's inode allocation: 60-70 % of a 5,001-file add's CPU,
 * `perf`), and done on the thread that reads and hashes it leaves the second core idle.
 * The thread pool overlaps them but costs ~10 `futex` calls and a wake-up per file; a
 * worker thread takes the files in batches (one message per turn of the event loop, the
 * batch's buffer transferred and handed back) and writes each one as `writeObject` does: a
 * temporary name opened with mode 0444, the bytes, a rename into place. While MAX_QUEUED
 * bytes wait, the caller writes the next files itself (`hasRoom`): both threads create
 * files then, and memory stays bounded. Nothing
 * half-written is ever renamed: a failed write removes its temporary file, and the batch's
 * promise rejects with the error (mapped by `diskError`). The worker is source text
 * evaluated by Node (`eval`), so the bundle needs no second file.
 */
import { Worker } from 'node:worker_threads'
import { diskError } from '../errors.js'
import { modeNeedsChmod } from '../fsutil.js'
import { objectPath } from './oid.js'
import { tempPath } from './objects.js'

const WORKER = `
const { parentPort } = require('node:worker_threads')
const fs = require('node:fs')
const path = require('node:path')
const made = new Set()
parentPort.on('message', ({ id, buf, items, chmod }) => {
  let error = null
  for (const it of items) {
    try {
      if (error) continue
      const dir = path.dirname(it.dest)
      if (!made.has(dir)) {
        fs.mkdirSync(dir, { recursive: true })
        made.add(dir)
      }
      fs.writeFileSync(it.tmp, new Uint8Array(buf, it.off, it.len), { mode: 0o444 })
      if (chmod) fs.chmodSync(it.tmp, 0o444)
      fs.renameSync(it.tmp, it.dest)
    } catch (e) {
      try { fs.rmSync(it.tmp, { force: true }) } catch {}
      error = { code: e.code, message: e.message, dest: it.dest }
    }
  }
  parentPort.postMessage({ id, error, buf }, [buf]) // the buffer goes back, to be filled again
})
`

/** A batch is sent at the next turn of the event loop, or once it holds this much. */
const BATCH_BYTES = 4 * 1024 * 1024
/** Bytes handed over and not yet written: past this, the caller writes the next files itself (memory stays bounded). */
const MAX_QUEUED = 32 * 1024 * 1024

interface Item {
  tmp: string
  dest: string
  off: number
  len: number
}

interface Batch {
  id: number
  buf: Uint8Array
  used: number
  items: Item[]
  done: Promise<void>
  settle: (err?: unknown) => void
}

export class ObjectWriter {
  private worker: Worker | undefined
  private batch: Batch | undefined
  private inFlight = new Map<number, Batch>()
  private queued = 0
  private seq = 0
  private flushScheduled = false
  /** batch buffers back from the worker: a fresh 4 MiB buffer costs a page fault per 4 KiB */
  private spare: Uint8Array[] = []

  private constructor(
    private cacheDir: string,
    worker: Worker,
  ) {
    this.worker = worker
    worker.unref() // referenced only while a batch is out
    worker.on('message', (m: { id: number; error: { code?: string; message: string; dest: string } | null; buf: ArrayBuffer }) => this.finished(m))
    worker.on('error', (e) => this.fail(e))
    worker.on('exit', () => this.fail(new Error('the writer thread stopped')))
  }

  /** A writer for `cacheDir`, or undefined where no thread can be started (then write synchronously). */
  static start(cacheDir: string): ObjectWriter | undefined {
    try {
      return new ObjectWriter(cacheDir, new Worker(WORKER, { eval: true }))
    } catch {
      return undefined
    }
  }

  /**
   * Queue `bytes` (copied now: the caller may reuse its buffer) as the object `oid`.
   * The promise settles once the object is in place.
   */
  write(oid: string, bytes: Uint8Array): Promise<void> {
    if (!this.worker) return Promise.reject(new Error('the writer is closed'))
    let b = this.batch
    if (b && b.used + bytes.length > b.buf.length) {
      this.flush()
      b = undefined
    }
    if (!b) {
      let settle!: (err?: unknown) => void
      const done = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())))
      done.catch(() => {}) // each caller awaits it; never an unhandled rejection
      const buf = bytes.length <= BATCH_BYTES ? (this.spare.pop() ?? new Uint8Array(BATCH_BYTES)) : new Uint8Array(bytes.length)
      b = this.batch = { id: ++this.seq, buf, used: 0, items: [], done, settle }
    }
    b.buf.set(bytes, b.used)
    b.items.push({ tmp: tempPath(this.cacheDir, oid), dest: objectPath(this.cacheDir, oid), off: b.used, len: bytes.length })
    b.used += bytes.length
    this.queued += bytes.length
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
    return b.done
  }

  /** True while fewer than MAX_QUEUED bytes wait to be written: else the caller writes the file itself. */
  hasRoom(): boolean {
    return this.queued <= MAX_QUEUED && this.worker !== undefined
  }

  private flush() {
    this.flushScheduled = false
    const b = this.batch
    if (!b || !this.worker) return
    this.batch = undefined
    this.inFlight.set(b.id, b)
    this.worker.ref()
    const buf = b.buf.buffer as ArrayBuffer
    this.worker.postMessage({ id: b.id, buf, items: b.items, chmod: modeNeedsChmod(0o444) }, [buf])
  }

  private finished(m: { id: number; error: { code?: string; message: string; dest: string } | null; buf: ArrayBuffer }) {
    if (m.buf.byteLength === BATCH_BYTES) this.spare.push(new Uint8Array(m.buf))
    const b = this.inFlight.get(m.id)
    if (!b) return
    this.inFlight.delete(m.id)
    for (const it of b.items) this.queued -= it.len
    if (!this.inFlight.size) this.worker?.unref()
    if (!m.error) return b.settle()
    const e = Object.assign(new Error(m.error.message), { code: m.error.code })
    b.settle(diskError(e, m.error.dest))
  }

  private fail(e: unknown) {
    const w = this.worker
    this.worker = undefined
    for (const b of this.inFlight.values()) b.settle(e)
    this.inFlight.clear()
    this.batch?.settle(e)
    this.batch = undefined
    void w?.terminate()
  }

  /** Send what is queued, wait for every write, and stop the thread. */
  async close(): Promise<void> {
    this.flush()
    await Promise.allSettled([...this.inFlight.values()].map((b) => b.done))
    const w = this.worker
    this.worker = undefined
    if (w) {
      w.removeAllListeners('exit')
      await w.terminate()
    }
  }
}
