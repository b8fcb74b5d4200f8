/** Small file-system helpers shared across core: atomic writes, safe removal. */
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'

let tempTag: string | undefined
let tempSeq = 0
/** A unique temporary name beside `file`, for write-then-rename (a random tag per process and a counter: randomBytes per name cost 12 µs, 60 ms of a 5,000-object push). */
export function tempNameFor(file: string): string {
  tempTag ??= randomBytes(4).toString('hex')
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${tempTag}-${++tempSeq}`)
}

/** Whether a file name is one tempNameFor makes (`.<name>.tmp-<pid>-<tag>-<n>`). */
export function isTempName(name: string): boolean {
  return /^\..*\.tmp-\d+-[0-9a-f]+-\d+$/.test(name)
}

let umask: number | undefined
/**
 * True when a file created with `mode` (at open) would not get it, because the umask clears
 * some of its bits: then it needs a chmod. The umask is read once.
 */
export function modeNeedsChmod(mode: number): boolean {
  umask ??= process.umask()
  return (mode & ~umask) !== mode
}

/** Write a whole file so that readers see the old or the new content, never a part. */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const tmp = tempNameFor(file)
  try {
    fs.writeFileSync(tmp, data)
    fs.renameSync(tmp, file)
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw e
  }
}

/** Is `child` (absolute) inside `parent` (absolute) after normalising? */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child)
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}
