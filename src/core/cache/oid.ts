/**
 * The name of a cache object: a file's XXH3-128 hash, or a manifest's hash with the suffix
 * `.dir` (docs/architecture.md#cache). Objects live at `<cache>/<2 hex>/<30 hex>[.dir]`, as in DVC, and
 * under the same relative path on a remote.
 */
import path from 'node:path'
import { XpError } from '../errors.js'
import { isHash } from './hash.js'

export const DIR_SUFFIX = '.dir'

export class Oid {
  private constructor(
    readonly hash: string,
    readonly isDir: boolean,
  ) {}

  /**
   * Parse and validate an oid string; XP_BAD_OID otherwise.
   *
   * @example
   * Oid.parse('9f2c...e1.dir').isDir // true
   */
  static parse(s: string): Oid {
    const isDir = typeof s === 'string' && s.endsWith(DIR_SUFFIX)
    const hash = isDir ? s.slice(0, -DIR_SUFFIX.length) : s
    if (typeof s !== 'string' || !isHash(hash))
      throw new XpError('XP_BAD_OID', `not a valid data oid: ${JSON.stringify(s)}`, {
        hint: 'an oid is 32 lowercase hex characters, with .dir for a directory',
      })
    return new Oid(hash, isDir)
  }

  static file(hash: string): Oid {
    return Oid.parse(hash)
  }

  static dir(hash: string): Oid {
    return Oid.parse(hash + DIR_SUFFIX)
  }

  static isValid(s: string): boolean {
    try {
      Oid.parse(s)
      return true
    } catch {
      return false
    }
  }

  /** `<2 hex>/<30 hex>[.dir]`, `/`-separated: the key under a cache or a remote's root */
  get key(): string {
    return `${this.hash.slice(0, 2)}/${this.hash.slice(2)}${this.isDir ? DIR_SUFFIX : ''}`
  }

  toString(): string {
    return this.isDir ? this.hash + DIR_SUFFIX : this.hash
  }
}

/**
 * Where an object lives in a cache folder.
 *
 * @example
 * objectPath('/p/.xp/cache', 'eefac9d8...') // '/p/.xp/cache/dd/3be1f4...'
 */
export function objectPath(cacheDir: string, oid: Oid | string): string {
  const o = typeof oid === 'string' ? Oid.parse(oid) : oid
  return path.join(cacheDir, o.hash.slice(0, 2), o.hash.slice(2) + (o.isDir ? DIR_SUFFIX : ''))
}

/** The oid of a path inside a cache folder, or null if the path is not an object's. */
export function oidFromPath(cacheDir: string, file: string): string | null {
  const rel = path.relative(cacheDir, file).split(path.sep)
  if (rel.length !== 2 || rel[0].length !== 2) return null
  const s = rel[0] + rel[1]
  return Oid.isValid(s) ? s : null
}
