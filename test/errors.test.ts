/**
 * The error catalog: every code has an exit code and an HTTP status that follow its class,
 * docs/errors.md lists every code exactly as the catalog says, and the CLI's exit codes come
 * from the catalog (a user scripting against `xp ... ; echo $?` sees what the docs promise).
 */
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { ERROR_CODES, type ErrorCode } from '../src/core/error-codes.js'
import { XpError, EXIT, isErrorCode } from '../src/core/errors.js'
import { ROOT, TestRepo, cleanupTmp, errorCode } from './helpers.js'

afterAll(cleanupTmp)

const codes = Object.keys(ERROR_CODES) as ErrorCode[]

/** The row docs/errors.md must have for a code. */
function docRow(code: ErrorCode): string {
  const s = ERROR_CODES[code]
  return `| \`${code}\` | ${EXIT[s.exit]} | ${s.http} | ${s.meaning} |`
}

describe('error catalog', () => {
  it('is sorted, one entry a code, each named XP_ and upper case', () => {
    expect([...codes].sort()).toEqual(codes)
    for (const c of codes) expect(c).toMatch(/^XP_[A-Z0-9_]+$/)
  })

  it('gives each error its exit code and HTTP status from the catalog', () => {
    expect(new XpError('XP_RUN_NOT_FOUND', 'x').exitCode).toBe(EXIT.domain)
    expect(new XpError('XP_RUN_NOT_FOUND', 'x').httpStatus).toBe(404)
    expect(new XpError('XP_BAD_FILTER', 'x').exitCode).toBe(EXIT.usage)
    expect(new XpError('XP_REMOTE_UNREACHABLE', 'x').exitCode).toBe(EXIT.remote)
    expect(new XpError('XP_NOT_A_REPO', 'x').exitCode).toBe(EXIT.notRepo)
    for (const c of codes) {
      const s = ERROR_CODES[c]
      expect(s.http, c).toBeGreaterThanOrEqual(400)
      expect(s.http, c).toBeLessThan(600)
      if (s.exit === 'usage') expect(s.http, c).toBeLessThan(500)
    }
    expect(isErrorCode('XP_RUN_NOT_FOUND')).toBe(true)
    expect(isErrorCode('XP_NO_SUCH_CODE')).toBe(false)
  })

  it('every code used in src/ is in the catalog', () => {
    const used = new Set<string>()
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name)
        if (e.isDirectory()) walk(p)
        else if (e.name.endsWith('.ts')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/'(XP_[A-Z0-9_]+)'/g)) used.add(m[1])
      }
    }
    walk(path.join(ROOT, 'src'))
    expect([...used].filter((c) => !isErrorCode(c)).sort()).toEqual([])
  })

  it('docs/errors.md lists every code as the catalog does', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8')
    const missing = codes.filter((c) => !doc.includes(docRow(c)))
    // the message lists the rows to paste into docs/errors.md
    expect(missing.map(docRow).join('\n')).toBe('')
  })

  it('the CLI exits with the catalog exit code of the error it reports', () => {
    const repo = new TestRepo()
    const notFound = repo.xp(['diff', 'nosuchrun', 'other'])
    expect(errorCode(notFound)).toBe('XP_RUN_NOT_FOUND')
    expect(notFound.code).toBe(EXIT[ERROR_CODES.XP_RUN_NOT_FOUND.exit])
    const badFilter = repo.xp(['show', '--filter', 'metrics.acc >'])
    expect(errorCode(badFilter)).toBe('XP_BAD_FILTER')
    expect(badFilter.code).toBe(EXIT.usage)
  })
})
