/**
 * The one error class of xp. Every failure a user can act on carries a stable upper-case
 * `code` from the catalog (src/core/error-codes.ts; tests assert it), a one-line message, a
 * hint that says what to do, and the process exit code the CLI uses, which comes from the
 * catalog (docs/architecture.md#errors: 1 domain, 2 usage, 3 not a repo, 4 remote).
 *
 * @example
 * throw new XpError('XP_RUN_NOT_FOUND', `no run matches "${ref}"`, { hint: 'list runs with `xp show`' })
 */
import { ERROR_CODES, type ErrorCode, type ExitClass } from './error-codes.js'

export type { ErrorCode } from './error-codes.js'

export const EXIT = { ok: 0, domain: 1, usage: 2, notRepo: 3, remote: 4, interrupted: 130 } as const satisfies Record<ExitClass | 'ok', number>

export class XpError extends Error {
  readonly code: ErrorCode
  readonly hint?: string
  readonly exitCode: number
  readonly data?: Record<string, unknown>

  constructor(
    code: ErrorCode,
    message: string,
    opts: {
      hint?: string
      /** only where one code means a usage error in one place and a domain error in another */
      exitCode?: number
      data?: Record<string, unknown>
      cause?: unknown
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'XpError'
    this.code = code
    this.hint = opts.hint
    this.exitCode = opts.exitCode ?? EXIT[ERROR_CODES[code].exit]
    this.data = opts.data
  }

  /** The HTTP status `xp ui` answers with for this error. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].http
  }
}

/** Is `s` a code of the catalog? (for codes read back from JSON, e.g. by the page) */
export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(ERROR_CODES, s)
}

/** A usage error: the call's words are wrong (exit 2). */
export function usageError(code: ErrorCode, message: string, hint?: string): XpError {
  return new XpError(code, message, { hint, exitCode: EXIT.usage })
}

export function isXpError(e: unknown): e is XpError {
  return e instanceof XpError
}

const DISK_CODES: Record<string, [ErrorCode, string]> = {
  ENOSPC: ['XP_DISK_FULL', 'no space left on the device'],
  EDQUOT: ['XP_DISK_FULL', 'disk quota exceeded'],
  EROFS: ['XP_DISK_READ_ONLY', 'the file system is read-only'],
}

/**
 * A full disk, an exceeded quota or a read-only file system as a coded error naming the
 * path (XP_DISK_FULL, XP_DISK_READ_ONLY); anything else is returned unchanged. Writers
 * that get one remove what they had half-written before rethrowing.
 *
 * @example
 * catch (e) { throw diskError(e, tmp) }
 */
export function diskError(e: unknown, file?: string): unknown {
  // a Node errno error, typed by hand: errors.ts is shared with the page's code (no Node types there)
  const err = e as Error & { code?: unknown; path?: string; dest?: string }
  const known = err && typeof err.code === 'string' ? DISK_CODES[err.code] : undefined
  if (!known || e instanceof XpError) return e
  const where = file ?? err.path ?? err.dest
  return new XpError(known[0], `${known[1]}${where ? ` while writing ${where}` : ''}; nothing partial was kept`, {
    hint:
      known[0] === 'XP_DISK_FULL'
        ? 'free some space (`xp gc` removes unused cache objects) or move the cache (`cache.dir` in .xp/config.local.yaml), then run the command again'
        : 'remount it read-write, or point xp elsewhere (`cache.dir` in .xp/config.local.yaml)',
    data: { path: where, errno: err.code },
    cause: e,
  })
}
