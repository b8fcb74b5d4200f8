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
  fs.mkdirSync(dir, { recursive: true })
  const tmp = path.join(dir, `tmp_obj_xp_${process.pid}_${randomBytes(4).toString('hex')}`)
  fs.writeFileSync(tmp, zlib.deflateSync(full, { level: 1 }), { mode: 0o444 })
  fs.renameSync(tmp, file)
  return id
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
    const ask = async (v: string, fallback: [string, string]) => {
      const res = await git(['var', v], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
      const m = /^(.*<[^>]*>) \d+ [+-]\d{4}$/.exec(res.stdout.trim())
      return res.code === 0 && m ? m[1] : `${fallback[0]} <${fallback[1]}>`
    }
    const fb = fallbackIdentity(repo.ctx.env)
    id = {
      author: await ask('GIT_AUTHOR_IDENT', [fb.GIT_AUTHOR_NAME, fb.GIT_AUTHOR_EMAIL]),
      committer: await ask('GIT_COMMITTER_IDENT', [fb.GIT_COMMITTER_NAME, fb.GIT_COMMITTER_EMAIL]),
    }
    identities.set(repo.commonDir, id)
  }
  return id
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
