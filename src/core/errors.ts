/**
 * The one error class of xp. Every failure a user can act on carries a stable upper-case
 * `code` (tests assert it), a one-line message, a hint that says what to do, and the
 * process exit code the CLI uses (DESIGN 3: 1 domain, 2 usage, 3 not a repo, 4 remote).
 *
 * @example
 * throw new XpError('XP_RUN_NOT_FOUND', `no run matches "${ref}"`, { hint: 'list runs with `xp show`' })
 */
export class XpError extends Error {
  readonly code: string
  readonly hint?: string
  readonly exitCode: number
  readonly data?: Record<string, unknown>

  constructor(
    code: string,
    message: string,
    opts: { hint?: string; exitCode?: number; data?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'XpError'
    this.code = code
    this.hint = opts.hint
    this.exitCode = opts.exitCode ?? 1
    this.data = opts.data
  }
}

export const EXIT = { ok: 0, domain: 1, usage: 2, notRepo: 3, remote: 4, interrupted: 130 } as const

/** A usage error: the call's words are wrong (exit 2). */
export function usageError(code: string, message: string, hint?: string): XpError {
  return new XpError(code, message, { hint, exitCode: EXIT.usage })
}

export function isXpError(e: unknown): e is XpError {
  return e instanceof XpError
}

const DISK_CODES: Record<string, [string, string]> = {
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
  const err = e as NodeJS.ErrnoException & { dest?: string }
  const known = err && typeof err.code === 'string' ? DISK_CODES[err.code] : undefined
  if (!known || e instanceof XpError) return e
  const where = file ?? err.path ?? err.dest
  return new XpError(known[0], `${known[1]}${where ? ` while writing ${where}` : ''}; nothing partial was kept`, {
    hint: known[0] === 'XP_DISK_FULL' ? 'free some space (`xp gc` removes unused cache objects) or move the cache (`cache.dir` in .xp/config.local.yaml), then run the command again' : 'remount it read-write, or point xp elsewhere (`cache.dir` in .xp/config.local.yaml)',
    data: { path: where, errno: err.code },
    cause: e,
  })
}
