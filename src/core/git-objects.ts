/**
 * Blobs written in-process, in git's own loose-object format: a run's log and pointer
 * files go into its snapshot without a `git hash-object` process. A module of its own so
 * that only the commands that write blobs load zlib.
 */
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { deflateSync } from 'node:zlib'
import { git } from './git.js'

/**
 * Write blobs into the repository and return their ids. Small contents (a run's log,
 * pointer files) are written in-process as loose objects, in git's own format (zlib of
 * `blob <size>\0<bytes>`, named by its SHA-1, read-only, written to a temporary name then
 * renamed), which saves a `git hash-object` process per run. A SHA-256 repository or a
 * redirected object directory goes through `git hash-object` instead.
 *
 * @example
 * const [oid] = await writeBlobs(repo, ['hello\n']) // 'ce013625030ba8dba906f756967f9e9ca394464a'
 */
export async function writeBlobs(
  repo: { root: string; commonDir: string; ctx: { env: Record<string, string | undefined> } },
  contents: Array<string | Buffer>,
): Promise<string[]> {
  if (!contents.length) return []
  if (!looseSha1(repo.commonDir, repo.ctx.env)) {
    const out: string[] = []
    for (const c of contents) out.push((await git(['hash-object', '-w', '--stdin'], { cwd: repo.root, env: repo.ctx.env, input: c })).stdout.trim())
    return out
  }
  const objects = path.join(repo.commonDir, 'objects')
  return contents.map((c) => {
    const body = typeof c === 'string' ? Buffer.from(c, 'utf8') : c
    const raw = Buffer.concat([Buffer.from(`blob ${body.length}\0`), body])
    const oid = createHash('sha1').update(raw).digest('hex')
    const dir = path.join(objects, oid.slice(0, 2))
    const file = path.join(dir, oid.slice(2))
    if (fs.existsSync(file)) return oid
    fs.mkdirSync(dir, { recursive: true })
    const tmp = path.join(dir, `tmp_obj_xp_${randomBytes(6).toString('hex')}`)
    fs.writeFileSync(tmp, deflateSync(raw, { level: 1 }), { mode: 0o444 })
    fs.renameSync(tmp, file)
    return oid
  })
}

/** True when the repository stores SHA-1 loose objects under its own `objects/`, unshared (the common case). */
function looseSha1(commonDir: string, env: Record<string, string | undefined>): boolean {
  if (env.GIT_OBJECT_DIRECTORY || env.GIT_DIR || env.GIT_COMMON_DIR) return false
  try {
    // (a repository shared by a group: git makes the object folders group-writable, this would not)
    return !/^\s*(?:objectformat|sharedrepository)\s*=/im.test(fs.readFileSync(path.join(commonDir, 'config'), 'utf8'))
  } catch {
    return false
  }
}
