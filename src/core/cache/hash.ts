/**
 * Content addresses: XXH3-128 of a file's bytes as 32 lowercase hex characters, the same
 * string `xxhsum -H2` prints (docs/architecture.md#cache). Files are read with `readSync` into one reused
 * buffer: 6-8 GB/s here where streams reach 0.8 GB/s (docs/architecture.md#decisions-and-their-measurements), and memory stays bounded
 * whatever the file's size.
 */
import fs from 'node:fs'
import type { IHasher } from 'hash-wasm'
import { XpError } from '../errors.js'

export const HASH_HEX_LENGTH = 32
/** files up to this size are read whole (one read, then the same bytes are written) */
export const SMALL_FILE = 1024 * 1024
const CHUNK = 1024 * 1024

let hasherPromise: Promise<IHasher> | undefined
let loaded: IHasher | undefined
let chunk: Buffer | undefined

/** One hasher per process: creating a wasm instance costs more than hashing a small file. */
export function hasher(): Promise<IHasher> {
  // hash-wasm is 240 KB of JavaScript: loaded on first use, so a run with no data never pays for it
  return (hasherPromise ??= import('hash-wasm')
    .then((m) => (m.createXXHash128 ?? (m as unknown as { default: typeof m }).default.createXXHash128)())
    .then((h) => (loaded = h)))
}

/** The hasher once `hasher()` has settled, for synchronous loops (no promise per file); undefined before. */
export function loadedHasher(): IHasher | undefined {
  return loaded
}

/**
 * Hash bytes held in memory (manifests, small files).
 *
 * @example
 * hashBytes(await hasher(), Buffer.from('hello world\n')) // 'eefac9d8...' like `xxhsum -H2`
 */
export function hashBytes(h: IHasher, bytes: Uint8Array): string {
  h.init()
  h.update(bytes)
  return h.digest('hex')
}

export interface FileHash {
  hash: string
  size: number
  /** the file's bytes, when read whole (readSmallFile: valid until its next call) */
  bytes?: Buffer
  /** the file's stat once read (for the stat cache) */
  stat: fs.Stats
}

/**
 * Hash a file by reading it into a reused buffer. A file whose size or mtime changes while
 * it is read, or that vanishes, fails with XP_FILE_CHANGED rather than giving a wrong hash.
 *
 * @example
 * const { hash, size } = await hashFile('data/train.csv')
 */
export async function hashFile(file: string): Promise<FileHash> {
  const h = await hasher()
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch (e) {
    throw changed(file, e)
  }
  try {
    const before = fs.fstatSync(fd)
    if (!before.isFile()) throw new XpError('XP_NOT_A_FILE', `${file} is not a regular file`)
    chunk ??= Buffer.allocUnsafe(CHUNK)
    h.init()
    let pos = 0
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, CHUNK, pos)
      if (n === 0) break
      h.update(n === CHUNK ? chunk : chunk.subarray(0, n))
      pos += n
    }
    const after = fs.fstatSync(fd)
    checkSame(file, before, after, pos)
    return { hash: h.digest('hex'), size: pos, stat: after }
  } finally {
    fs.closeSync(fd)
  }
}

let smallBuf: Buffer | undefined

/** What a folder's listing saw of a file: its read is checked against it. */
export interface Listed {
  size: number
  mtimeMs: number
}

/**
 * Read and hash a small file (<= SMALL_FILE) synchronously, in one read into a buffer
 * reused from call to call: `bytes` is valid only until the next call. Undefined, having
 * read nothing, when the file is larger. Like hashFile, a file that changes while it is
 * read or vanishes is XP_FILE_CHANGED. With `listed` (the stat of a folder's listing), the
 * file must still be as listed once read (its size goes into the manifest beside the oid),
 * and that stat stands for the one before the read (one fstat a file fewer).
 *
 * @example
 * const r = readSmallFile('data/a.csv', await hasher()) // { hash, size, bytes, stat } or undefined
 */
export function readSmallFile(file: string, h: IHasher, listed?: Listed): (FileHash & { bytes: Buffer }) | undefined {
  if (listed && listed.size > SMALL_FILE) return undefined
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch (e) {
    throw changed(file, e)
  }
  try {
    const before: Listed = listed ?? fs.fstatSync(fd)
    if (!listed && !(before as fs.Stats).isFile()) throw new XpError('XP_NOT_A_FILE', `${file} is not a regular file`)
    if (before.size > SMALL_FILE) return undefined
    smallBuf ??= Buffer.allocUnsafe(SMALL_FILE)
    let got = 0
    while (got < before.size) {
      const n = fs.readSync(fd, smallBuf, got, before.size - got, got)
      if (n === 0) break
      got += n
    }
    const after = fs.fstatSync(fd)
    checkSame(file, before, after, got)
    const bytes = smallBuf.subarray(0, got)
    return { hash: hashBytes(h, bytes), size: got, bytes, stat: after }
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Copy a file while hashing it: one read whose bytes are both hashed and written, so the
 * hash is that of the bytes written (checkout by copy, a download from a folder remote).
 * `dest` must not exist; it is created with `mode` (less the umask).
 *
 * @example
 * const { hash } = await hashCopy(objectPath(cacheDir, oid), tmp, 0o644)
 */
export async function hashCopy(src: string, dest: string, mode: number): Promise<{ hash: string; size: number }> {
  const h = await hasher()
  const input = fs.openSync(src, 'r')
  try {
    const output = fs.openSync(dest, 'wx', mode)
    try {
      chunk ??= Buffer.allocUnsafe(CHUNK)
      h.init()
      let pos = 0
      for (;;) {
        const n = fs.readSync(input, chunk, 0, CHUNK, pos)
        if (n === 0) break
        const part = n === CHUNK ? chunk : chunk.subarray(0, n)
        h.update(part)
        for (let w = 0; w < n; ) w += fs.writeSync(output, part, w, n - w)
        pos += n
      }
      return { hash: h.digest('hex'), size: pos }
    } finally {
      fs.closeSync(output)
    }
  } finally {
    fs.closeSync(input)
  }
}

function checkSame(file: string, a: Listed, b: fs.Stats, read: number) {
  if (a.size !== b.size || a.mtimeMs !== b.mtimeMs || read !== b.size)
    throw new XpError('XP_FILE_CHANGED', `${file} changed while it was being hashed`, {
      hint: 'wait until whatever writes it has finished, then run the command again',
    })
}

function changed(file: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code
  if (code === 'ENOENT')
    return new XpError('XP_FILE_CHANGED', `${file} vanished while it was being added`, { hint: 'run the command again once the data is in place' })
  return e as Error
}

export function isHash(s: string): boolean {
  return s.length === HASH_HEX_LENGTH && /^[0-9a-f]+$/.test(s)
}
