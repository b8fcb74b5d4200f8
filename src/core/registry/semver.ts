/**
 * SemVer 2.0.0 as the registry needs it: parse `vX.Y.Z[-pre][+build]`, order versions by
 * precedence (pre-releases before their release, build metadata ignored), and bump.
 * Numbers stay digit strings so that no version is too large to compare exactly.
 */

const NUM = '0|[1-9]\\d*'
const PRE_ID = `${NUM}|\\d*[a-zA-Z-][0-9a-zA-Z-]*`
const BUILD_ID = '[0-9a-zA-Z-]+'
/** SemVer 2's own grammar, unanchored, without the leading `v` (shared with the tag grammar). */
export const SEMVER_PATTERN = `(?:${NUM})\\.(?:${NUM})\\.(?:${NUM})(?:-(?:${PRE_ID})(?:\\.(?:${PRE_ID}))*)?(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?`
const SEMVER_RE = new RegExp(`^v(${NUM})\\.(${NUM})\\.(${NUM})(?:-((?:${PRE_ID})(?:\\.(?:${PRE_ID}))*))?(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?$`)

export interface SemVer {
  major: string
  minor: string
  patch: string
  prerelease: string[]
  build: string[]
  /** the text it was parsed from, `v` included */
  raw: string
}

/**
 * Parse a registry version (`v` + SemVer 2); null when it is not one.
 *
 * @example
 * parseSemVer('v1.2.0-rc.1') // { major: '1', minor: '2', patch: '0', prerelease: ['rc', '1'], ... }
 * parseSemVer('1.2.0')       // null: the `v` is required
 */
export function parseSemVer(text: string): SemVer | null {
  const m = SEMVER_RE.exec(text)
  if (!m) return null
  return { major: m[1], minor: m[2], patch: m[3], prerelease: m[4] ? m[4].split('.') : [], build: m[5] ? m[5].split('.') : [], raw: text }
}

const isNumeric = (s: string) => /^\d+$/.test(s)

/** Compare digit strings without leading zeros (SemVer forbids them) as numbers. */
function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

function compareIdentifiers(a: string, b: string): number {
  const an = isNumeric(a)
  const bn = isNumeric(b)
  if (an && bn) return compareDigits(a, b)
  if (an !== bn) return an ? -1 : 1 // numeric identifiers have lower precedence
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * SemVer 2 precedence: negative when a < b. Build metadata does not count: versions that
 * differ only in it are equal (0), and GTO then orders them by registration (fold.ts).
 *
 * @example
 * compareSemVer(parseSemVer('v1.0.0-rc.1')!, parseSemVer('v1.0.0')!) // < 0
 */
export function compareSemVer(a: SemVer, b: SemVer): number {
  const core = compareDigits(a.major, b.major) || compareDigits(a.minor, b.minor) || compareDigits(a.patch, b.patch)
  if (core) return core
  const ap = a.prerelease
  const bp = b.prerelease
  if (!ap.length || !bp.length) {
    if (ap.length !== bp.length) return ap.length ? -1 : 1 // a pre-release precedes its release
  } else {
    for (let i = 0; i < Math.min(ap.length, bp.length); i++) {
      const c = compareIdentifiers(ap[i], bp[i])
      if (c) return c
    }
    if (ap.length !== bp.length) return ap.length < bp.length ? -1 : 1
  }
  return 0
}

/** Compare two version strings; valid versions sort before anything else (e.g. commit hashes). */
export function compareVersionText(a: string, b: string): number {
  const sa = parseSemVer(a)
  const sb = parseSemVer(b)
  if (sa && sb) return compareSemVer(sa, sb)
  if (sa || sb) return sa ? 1 : -1
  return a < b ? -1 : a > b ? 1 : 0
}

export type BumpPart = 'major' | 'minor' | 'patch'

const inc = (s: string) => (BigInt(s) + 1n).toString()

/**
 * The next version after `v`: the part is incremented, the lower parts reset, and any
 * pre-release or build dropped (as python-semver, which GTO uses, does).
 *
 * @example
 * bumpSemVer(parseSemVer('v1.4.2')!, 'minor') // 'v1.5.0'
 */
export function bumpSemVer(v: SemVer, part: BumpPart): string {
  if (part === 'major') return `v${inc(v.major)}.0.0`
  if (part === 'minor') return `v${v.major}.${inc(v.minor)}.0`
  return `v${v.major}.${v.minor}.${inc(v.patch)}`
}

/** The first version of a new artifact. */
export const FIRST_VERSION = 'v0.0.1'
