/**
 * Writing blobs and trees as loose git objects in-process. Recording a live run makes a
 * handful of small objects (one series file per metric, a pointer, a tree or two); one
 * spawn of git plumbing each costs more than the rest of the request, so they are written
 * here, exactly as `git hash-object -w` and `git mktree` would (zlib-deflated
 * `<type> <size>\0<content>` under `objects/xx/…`, named by SHA-1 or SHA-256 as the
 * repository's object format says). Commits and refs still go through the git binary.
 */
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { createHash, randomBytes } from 'node:crypto'
import { git, fallbackIdentity } from '../git.js'
import type { Repo } from '../repo.js'
import { ensureXpDir } from '../repo.js'

const formats = new Map<string, 'sha1' | 'sha256'>()

/** The repository's object format (asked once per repository). */
export async function objectFormat(repo: Pick<Repo, 'root' | 'ctx' | 'commonDir'>): Promise<'sha1' | 'sha256'> {
  let f = formats.get(repo.commonDir)
  if (!f) {
    const res = await git(['rev-parse', '--show-object-format'], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
    f = res.stdout.trim() === 'sha256' ? 'sha256' : 'sha1'
    formats.set(repo.commonDir, f)
  }
  return f
}

/** Write one object; returns its id. An object that exists is left as it is. */
export function writeObject(commonDir: string, format: 'sha1' | 'sha256', type: 'blob' | 'tree' | 'commit', content: Buffer): string {
  const full = Buffer.concat([Buffer.from(`${type} ${content.length}\0`), content])
  const id = createHash(format).update(full).digest('hex')
  const dir = path.join(commonDir, 'objects', id.slice(0, 2))
  const file = path.join(dir, id.slice(2))
  if (fs.existsSync(file)) return id
  if (!fs.existsSync(dir)) makeObjectFolder(commonDir, dir)
  const tmp = path.join(dir, `tmp_obj_xp_${process.pid}_${randomBytes(4).toString('hex')}`)
  fs.writeFileSync(tmp, zlib.deflateSync(full, { level: 1 }), { mode: 0o444 })
  fs.renameSync(tmp, file)
  return id
}

/**
 * A new `objects/xx` folder, with the permissions of `objects/` itself: in a repository
 * shared by a group (`git init --shared`) git makes them group-writable (and setgid), and
 * a folder made 0755 here would stop the group's other members writing objects into it.
 */
function makeObjectFolder(commonDir: string, dir: string) {
  fs.mkdirSync(dir, { recursive: true })
  const want = fs.statSync(path.join(commonDir, 'objects')).mode & 0o7777
  if ((fs.statSync(dir).mode & 0o7777) !== want) fs.chmodSync(dir, want)
}

/**
 * Write blobs into the repository and return their ids: a run's log and pointer files go
 * into its snapshot without a `git hash-object` process each, as loose objects
 * (writeObject). A SHA-256 repository or a redirected object directory goes through `git
 * hash-object` instead.
 *
 * @example
 * const [oid] = await writeBlobs(repo, ['hello\n']) // 'ce013625030ba8dba906f756967f9e9ca394464a'
 */
export async function writeBlobs(repo: Pick<Repo, 'root' | 'ctx' | 'commonDir'>, contents: Array<string | Buffer>): Promise<string[]> {
  if (!contents.length) return []
  if (!looseSha1(repo.commonDir, repo.ctx.env)) {
    const out: string[] = []
    for (const c of contents) out.push((await git(['hash-object', '-w', '--stdin'], { cwd: repo.root, env: repo.ctx.env, input: c })).stdout.trim())
    return out
  }
  return contents.map((c) => writeObject(repo.commonDir, 'sha1', 'blob', typeof c === 'string' ? Buffer.from(c, 'utf8') : c))
}

/** True when the repository stores SHA-1 loose objects under its own `objects/` (the common case). */
function looseSha1(commonDir: string, env: Record<string, string | undefined>): boolean {
  if (env.GIT_OBJECT_DIRECTORY || env.GIT_DIR || env.GIT_COMMON_DIR) return false
  try {
    return !/^\s*objectformat\s*=/im.test(fs.readFileSync(path.join(commonDir, 'config'), 'utf8'))
  } catch {
    return false
  }
}

export interface TreeEntry {
  mode: string
  name: string
  oid: string
}

/** Encode a tree as git does: entries sorted by name, a folder compared as `name/`. */
export function encodeTree(entries: TreeEntry[]): Buffer {
  const key = (e: TreeEntry) => (e.mode === '40000' ? `${e.name}/` : e.name)
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(key(a)), Buffer.from(key(b))))
  return Buffer.concat(sorted.flatMap((e) => [Buffer.from(`${e.mode} ${e.name}\0`), Buffer.from(e.oid, 'hex')]))
}

/** Files by `/`-separated path to a tree id, every folder a tree. */
export function writeFileTree(commonDir: string, format: 'sha1' | 'sha256', files: Map<string, Buffer>, base: TreeEntry[] = []): string {
  const here = new Map<string, Buffer>()
  const sub = new Map<string, Map<string, Buffer>>()
  for (const [p, c] of files) {
    const slash = p.indexOf('/')
    if (slash < 0) here.set(p, c)
    else {
      const d = p.slice(0, slash)
      if (!sub.has(d)) sub.set(d, new Map())
      sub.get(d)!.set(p.slice(slash + 1), c)
    }
  }
  const entries = base.filter((e) => !here.has(e.name) && !sub.has(e.name))
  for (const [name, c] of here) entries.push({ mode: '100644', name, oid: writeObject(commonDir, format, 'blob', c) })
  for (const [name, m] of sub) entries.push({ mode: '40000', name, oid: writeFileTree(commonDir, format, m) })
  return writeObject(commonDir, format, 'tree', encodeTree(entries))
}

const identities = new Map<string, { author: string; committer: string }>()

/**
 * `Name <email>` of the author and committer, as git would write them (its config and the
 * GIT_AUTHOR_* / GIT_COMMITTER_* variables), asked once per repository and process; the
 * fallback identity when git has none, so a run is never lost for want of user.email.
 */
export async function gitIdentity(repo: Pick<Repo, 'root' | 'ctx' | 'commonDir'>): Promise<{ author: string; committer: string }> {
  let id = identities.get(repo.commonDir)
  if (!id) {
    id = await askIdentity(repo)
    identities.set(repo.commonDir, id)
  }
  return id
}

/** gitIdentity without its memory: `git var`, twice. */
async function askIdentity(repo: Pick<Repo, 'root' | 'ctx'>): Promise<{ author: string; committer: string }> {
  const ask = async (v: string, fallback: [string, string]) => {
    const res = await git(['var', v], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
    const m = /^(.*<[^>]*>) \d+ [+-]\d{4}$/.exec(res.stdout.trim())
    return res.code === 0 && m ? m[1] : `${fallback[0]} <${fallback[1]}>`
  }
  const fb = fallbackIdentity(repo.ctx.env)
  const [author, committer] = await Promise.all([
    ask('GIT_AUTHOR_IDENT', [fb.GIT_AUTHOR_NAME, fb.GIT_AUTHOR_EMAIL]),
    ask('GIT_COMMITTER_IDENT', [fb.GIT_COMMITTER_NAME, fb.GIT_COMMITTER_EMAIL]),
  ])
  return { author, committer }
}

/** what git's identity and `git commit-tree`'s output depend on, besides the config files */
const IDENTITY_ENV = [
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'EMAIL',
  'HOME',
  'XDG_CONFIG_HOME',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_SYSTEM',
  'GIT_CONFIG_NOSYSTEM',
  'USER',
  'LOGNAME',
]
/** config that makes `git commit-tree` write what writeCommitObject would not, or read other files */
const CONFIG_GIT_MUST_DO = /^\s*(?:\[\s*include|path\s*=|commitencoding|logallrefupdates\s*=\s*always|sharedrepository\s*=)/im

/**
 * The identity for a commit written in-process, from `.xp/identity` when nothing it
 * depends on changed since git was last asked: the environment variables git reads and
 * the stat of every config file (system, global, XDG, the repository's). Two `git var`
 * processes cost `xp run` about 8 ms (issue 16). Null, when git must write the commit:
 * GIT_DIR or a date in the environment, a SHA-256 repository, or a config with includes,
 * a commit encoding, a reflog of every ref or a shared repository's permissions (git
 * honours them, this does not; `commit-tree` never signs by config, so neither does this).
 *
 * @example
 * const who = await cachedIdentity(repo) // { author: 'Ada <ada@example.com>', committer: … } or null
 */
export async function cachedIdentity(
  repo: Pick<Repo, 'root' | 'ctx' | 'commonDir' | 'gitDir' | 'xpDir'>,
): Promise<{ author: string; committer: string } | null> {
  const env = repo.ctx.env
  if (env.GIT_DIR || env.GIT_COMMON_DIR || env.GIT_OBJECT_DIRECTORY || env.GIT_CONFIG_PARAMETERS || env.GIT_CONFIG_COUNT) return null
  if (env.GIT_AUTHOR_DATE || env.GIT_COMMITTER_DATE) return null
  const home = env.HOME ?? ''
  const files = [
    env.GIT_CONFIG_NOSYSTEM ? '' : (env.GIT_CONFIG_SYSTEM ?? '/etc/gitconfig'),
    env.GIT_CONFIG_GLOBAL ?? path.join(home, '.gitconfig'),
    path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'git', 'config'),
    path.join(repo.commonDir, 'config'),
    path.join(repo.gitDir, 'config.worktree'),
  ].filter(Boolean)
  const stamps: string[] = []
  for (const f of files) {
    let text: string
    try {
      text = fs.readFileSync(f, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return null
      stamps.push('-')
      continue
    }
    if (CONFIG_GIT_MUST_DO.test(text) || /^\s*objectformat\s*=\s*sha256/im.test(text)) return null
    const st = fs.statSync(f)
    stamps.push(`${st.ino}:${st.size}:${st.mtimeMs}`)
  }
  const key = JSON.stringify([IDENTITY_ENV.map((k) => env[k] ?? null), files, stamps])
  const file = path.join(repo.xpDir, 'identity')
  try {
    const kept = JSON.parse(fs.readFileSync(file, 'utf8')) as { key?: string; author?: string; committer?: string }
    if (kept.key === key && typeof kept.author === 'string' && typeof kept.committer === 'string') return { author: kept.author, committer: kept.committer }
  } catch {
    // not kept yet, or unreadable: ask git
  }
  const who = await askIdentity(repo)
  try {
    ensureXpDir(repo)
    const tmp = `${file}.${process.pid}.tmp`
    fs.writeFileSync(tmp, JSON.stringify({ key, ...who }))
    fs.renameSync(tmp, file)
  } catch {
    // a cache: the next run asks again
  }
  return who
}

/** Write a commit object (what `git commit-tree` writes, dates in UTC). */
export function writeCommitObject(
  commonDir: string,
  format: 'sha1' | 'sha256',
  c: { tree: string; parent: string | null; author: string; committer: string; authorDate: Date; commitDate: Date; message: string },
): string {
  const when = (d: Date) => `${Math.floor(d.getTime() / 1000)} +0000`
  const text = `tree ${c.tree}\n${c.parent ? `parent ${c.parent}\n` : ''}author ${c.author} ${when(c.authorDate)}\ncommitter ${c.committer} ${when(c.commitDate)}\n\n${c.message}`
  return writeObject(commonDir, format, 'commit', Buffer.from(text, 'utf8'))
}
