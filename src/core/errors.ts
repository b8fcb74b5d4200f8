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
