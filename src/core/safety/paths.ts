/**
 * The one path guard: every path that comes from data (a pointer, a manifest, a run's
 * tree, `xp.yaml`'s params/metrics/artifact paths, `-S FILE:`, an MLflow artifact path)
 * goes through it before xp reads or writes (docs/security.md).
 *
 * Two levels:
 * - `checkRelPath` looks at the string only: relative, `/`-separated, no `..` or `.`, no
 *   empty segment, no NUL, no backslash, no drive letter (`C:`), no `.git` in any case
 *   (nor `.git.`, `.git ` or `git~1`, which Windows and macOS fold to `.git`), and none of
 *   these hidden behind percent-encoding or Unicode compatibility forms (`%2e%2e`, `．．`).
 * - `guardWrite` / `guardRead` also look at the disk, component by component with lstat.
 *   The rule for writing: never through a symlink. Every existing folder on the way must
 *   be a real folder, whatever a symlink's target (a target can change between the check
 *   and the write, and git's own checkout refuses the same). A symlink as the last
 *   component is replaced, never written through. Reading may follow symlinks whose real
 *   path stays inside the repository.
 */
import fs from 'node:fs'
import path from 'node:path'
import { XpError } from '../errors.js'

const PLAIN = /^(?:[A-Za-z0-9_+@=,-][A-Za-z0-9_+@=,.-]*\/)*[A-Za-z0-9_+@=,-][A-Za-z0-9_+@=,.-]*$/

function unsafe(where: string, p: unknown, why: string): XpError {
  return new XpError('XP_UNSAFE_PATH', `${where}: unsafe path ${JSON.stringify(p)} (${why})`, {
    hint: 'paths that come from data must stay inside the repository',
  })
}

function lexicalProblem(p: string): string | null {
  if (p === '') return 'empty'
  if (p.includes('\0')) return 'NUL byte'
  if (p.startsWith('/')) return 'absolute'
  if (/^[a-zA-Z]:(?!\s)/.test(p)) return 'drive letter' // C:/x, C:\x, C:x (a name like "a: b" stays a name)
  if (p.includes('\\')) return 'backslash'
  for (const seg of p.split('/')) {
    if (seg === '') return 'empty segment'
    if (seg === '..') return '..'
    if (seg === '.') return '. segment'
    // NTFS drops trailing dots and spaces; 8.3 short names; HFS+ ignores some code points
    const folded = seg
      .toLowerCase()
      .replace(/[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g, '')
      .replace(/[. ]+$/, '')
    if (folded === '.git' || folded === 'git~1') return '.git segment'
  }
  return null
}

/**
 * Refuse a relative path from data that could leave the folder it is relative to.
 * Returns the path unchanged; throws XP_UNSAFE_PATH naming `where`.
 *
 * @example
 * checkRelPath('data/train.csv', 'xp.yaml') // 'data/train.csv'
 * checkRelPath('%2e%2e/x', 'manifest')      // throws XP_UNSAFE_PATH (encoded ..)
 */
export function checkRelPath(p: unknown, where = 'path'): string {
  if (typeof p === 'string' && PLAIN.test(p) && !/(?:^|\/)\.\.?(?:\/|$)/.test(p) && !/(?:^|\/)\.git[. ]*(?:\/|$)/i.test(p)) return p
  if (typeof p !== 'string') throw unsafe(where, p, 'not a string')
  const why = lexicalProblem(p)
  if (why) throw unsafe(where, p, why)
  // the same string as another layer may decode it: percent-encoding, Unicode compatibility forms
  let decoded = p
  if (p.includes('%')) {
    try {
      decoded = decodeURIComponent(p)
    } catch {
      decoded = p.replace(/%([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))
    }
  }
  for (const v of [decoded, decoded.normalize('NFKC')]) {
    if (v === p) continue
    const w = lexicalProblem(v)
    if (w) throw unsafe(where, p, `encoded ${w}`)
  }
  return p
}

/** Split a checked relative path into its segments. */
function segments(rel: string): string[] {
  return rel.split('/')
}

/**
 * Check that writing `rel` under `base` (absolute) cannot land anywhere else: the path is
 * lexically safe and no existing component before the last is a symlink or a non-folder
 * that the OS would follow. `checked` (optional) remembers folders already proven real, so
 * a manifest of many files costs one lstat per folder. Returns the absolute path.
 *
 * @example
 * guardWrite(repo.root, 'h/.bashrc', 'run 01ab:h/.bashrc.xp') // throws when h is a symlink
 */
export function guardWrite(base: string, rel: string, where = rel, checked?: Set<string>): string {
  checkRelPath(rel, where)
  const segs = segments(rel)
  let cur = base
  for (let i = 0; i < segs.length - 1; i++) {
    cur = path.join(cur, segs[i])
    if (checked?.has(cur)) continue
    let st: fs.Stats
    try {
      st = fs.lstatSync(cur)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') break
      throw e
    }
    if (st.isSymbolicLink())
      throw new XpError('XP_UNSAFE_PATH', `${where}: ${segs.slice(0, i + 1).join('/')} is a symlink; xp never writes through one`, {
        hint: 'remove the symlink (or make it a real folder), then run the command again',
      })
    if (!st.isDirectory()) break // a file where a folder goes: replaced by the writer or refused as a conflict
    checked?.add(cur)
  }
  return path.join(base, ...segs)
}

/**
 * Check a repo-relative path that xp will read (params, metrics, an artifact): lexically
 * safe, and its real path (symlinks followed) inside the repository. Returns the absolute path.
 */
export function guardRead(root: string, rel: string, where = rel): string {
  checkRelPath(rel, where)
  const abs = path.join(root, rel)
  let real: string
  try {
    real = fs.realpathSync(abs)
  } catch {
    // absent (or dangling): the deepest existing folder must be inside
    let probe = path.dirname(abs)
    for (;;) {
      try {
        real = path.join(fs.realpathSync(probe), path.relative(probe, abs))
        break
      } catch {
        const up = path.dirname(probe)
        if (up === probe) return abs
        probe = up
      }
    }
  }
  const realRoot = fs.realpathSync(root)
  const r = path.relative(realRoot, real)
  if (r.startsWith('..') || path.isAbsolute(r))
    throw new XpError('XP_UNSAFE_PATH', `${where}: ${rel} resolves outside the repository (through a symlink)`, {
      hint: 'paths that come from data must stay inside the repository',
    })
  return abs
}

/**
 * A path from a setting or an argument that names a file in the repository (params and
 * metrics in xp.yaml, `-S FILE:KEY=VALUE`, an artifact's `path:`): relative and inside.
 * Normalises `./a` to `a`; refuses `..`, absolute paths and the rest of `checkRelPath`.
 */
export function repoRelative(p: string, where: string): string {
  const norm = typeof p === 'string' ? p.replace(/^(?:\.\/)+/, '').replace(/\/+$/, '') : p
  return checkRelPath(norm, where)
}

/**
 * Untracked files that look like secrets are left out of run snapshots unless listed in
 * `snapshot.include` (docs/security.md). Globs without a `/` match a file's name in any
 * folder; with one, the whole repo-relative path. `*` stays within a segment, `**` spans them.
 */
export const SECRET_FILE_GLOBS = [
  '.env',
  '.env.*',
  '*.env',
  '.envrc',
  '*credentials*',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  '*.jks',
  '*.keystore',
  'id_rsa*',
  'id_dsa*',
  'id_ecdsa*',
  'id_ed25519*',
  '.netrc',
  '_netrc',
  '.git-credentials',
  '.pgpass',
  '.pypirc',
  '.npmrc',
  'kubeconfig',
  '*.kubeconfig',
  '.kube/config',
  'secrets.*',
  '*.secret',
  '*.secrets',
  'service-account*.json',
  '*.tfvars',
  '*.tfstate',
]
// templates people commit on purpose
const NOT_SECRET = ['.env.example', '.env.sample', '.env.template', '.env.dist', '*.pub']

export function globToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*'
      i += glob[i + 2] === '/' ? 2 : 1
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(glob.includes('/') ? `^${re}$` : `(?:^|/)${re}$`, 'i')
}

/** A matcher for a list of globs (see SECRET_FILE_GLOBS for the syntax). */
export function globMatcher(globs: string[]): (rel: string) => boolean {
  const res = globs.map(globToRegExp)
  return (rel) => res.some((r) => r.test(rel))
}

const secretMatch = globMatcher(SECRET_FILE_GLOBS)
const notSecretMatch = globMatcher(NOT_SECRET)

/**
 * Split untracked paths into those a run snapshot may take and those it leaves out: files
 * that look like secrets (unless `include` matches them) and files `exclude` matches.
 *
 * @example
 * leftOutOfSnapshot(['train.py', '.env', 'conf/db-credentials.json'], { include: [], exclude: [] }) // ['.env', 'conf/db-credentials.json']
 */
export function leftOutOfSnapshot(untracked: string[], opts: { include?: string[]; exclude?: string[] }): string[] {
  const inc = globMatcher(opts.include ?? [])
  const exc = globMatcher(opts.exclude ?? [])
  return untracked.filter((p) => exc(p) || (secretMatch(p) && !notSecretMatch(p) && !inc(p)))
}
