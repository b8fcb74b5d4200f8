/**
 * Copy a file to several new files while hashing it: one read whose bytes are hashed and
 * then written to every copy (the bytes hashed are the bytes written), the writes running
 * on the thread pool while this thread reads and hashes the next chunk (two buffers, so
 * that no buffer is read into while it is still being written). A fresh clone's large
 * object goes to the cache and to the working tree from the same read. For one copy of a
 * file of any size, `hashCopy` (hash.ts) is the one to call: it writes on this thread from
 * one shared buffer, with no thread-pool round trip per file (checkout writes thousands of
 * small files); this one pays two 1 MiB buffers and a round trip per chunk, which only a
 * large file repays.
 */
import fs from 'node:fs'
import { hasher } from './hash.js'

const CHUNK = 1024 * 1024

function writeAll(fd: number, buf: Buffer, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number) =>
      fs.write(fd, buf, off, buf.length - off, pos + off, (err, n) => {
        if (err) reject(err)
        else if (off + n < buf.length) step(off + n)
        else resolve()
      })
    step(0)
  })
}

/**
 * Copy `src` to each of `dests` (which must not exist; created with their mode, less the
 * umask), hashing what was read. On failure the copies made so far are left to the caller
 * (temporary names it removes).
 *
 * @example
 * const { hash } = await hashCopyTo(remoteFile, [{ path: cacheTmp, mode: 0o444 }, { path: treeTmp, mode: 0o644 }])
 */
export async function hashCopyTo(src: string, dests: Array<{ path: string; mode: number }>): Promise<{ hash: string; size: number }> {
  const h = await hasher()
  const input = fs.openSync(src, 'r')
  const outs: number[] = []
  const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)]
  const writing: Array<Promise<unknown> | undefined> = [undefined, undefined]
  try {
    for (const d of dests) outs.push(fs.openSync(d.path, 'wx', d.mode))
    h.init()
    let pos = 0
    for (let k = 0; ; k ^= 1) {
      await writing[k] // this buffer's last writes are done
      const buf = bufs[k]!
      const n = fs.readSync(input, buf, 0, CHUNK, pos)
      if (n === 0) break
      const part = n === CHUNK ? buf : buf.subarray(0, n)
      h.update(part)
      const p = Promise.all(outs.map((fd) => writeAll(fd, part, pos)))
      p.catch(() => {}) // awaited when the buffer comes round again, or below
      writing[k] = p
      pos += n
    }
    await Promise.all(writing)
    return { hash: h.digest('hex'), size: pos }
  } finally {
    await Promise.allSettled(writing)
    for (const fd of outs) fs.closeSync(fd)
    fs.closeSync(input)
  }
}
