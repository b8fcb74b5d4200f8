/**
 * `xp fsck`: bytes and references, as `git fsck` checks blobs and the refs that need them.
 * Every object in the cache is rehashed (corrupt ones named), and every object referenced
 * by the working trees' pointers and by the commits at the tips of all refs (runs, tags,
 * branches) must be present and intact, or, with `remote`, on the data remote. Missing
 * ones are named with the runs and paths that need them and the command that repairs them.
 */
import type { Repo } from '../repo.js'
import { XpError } from '../errors.js'
import { hashFile, hasher, hashBytes } from './hash.js'
import { Oid } from './oid.js'
import { listObjects, readObject, cleanTemp, hasObject } from './objects.js'
import { decodeManifest } from './manifest.js'
import { referencedOids, worktreeRoots, worktreePointers, expandDirs } from './reachable.js'
import { git } from '../git.js'
import type { DataRemote } from '../../remotes/types.js'

export interface MissingRef {
  oid: string
  /** who needs it: `run <id>`, `refs/heads/main`, `worktree data/train.xp` */
  needed_by: string[]
}

export interface FsckResult {
  checked: number
  bytes: number
  corrupt: Array<{ oid: string; path: string; problem: string }>
  /** referenced objects absent (or corrupt) in the cache */
  missing: MissingRef[]
  /** with a remote: referenced objects the data remote lacks */
  remote_missing?: MissingRef[]
  /** with a remote: referenced objects absent here that the remote holds (fetched on demand; not a problem) */
  on_remote_only?: number
  remote?: string
  /** the command that repairs what was found, when anything was */
  repair?: string
}

const MAX_NAMED = 50

/**
 * @example
 * const res = await fsckCache(repo) // res.corrupt, res.missing: [] when all is well
 */
export async function fsckCache(
  repo: Repo,
  opts: { remote?: DataRemote /** name who needs each missing object (default true) */; names?: boolean } = {},
): Promise<FsckResult> {
  cleanTemp(repo.cacheDir, undefined, { all: true })
  const h = await hasher()
  const res: FsckResult = { checked: 0, bytes: 0, corrupt: [], missing: [] }
  for (const o of listObjects(repo.cacheDir)) {
    const oid = Oid.parse(o.oid)
    res.checked++
    res.bytes += o.size
    repo.ctx.onProgress?.({ phase: 'checking', done: res.checked, bytes: res.bytes })
    try {
      if (oid.isDir) {
        const bytes = readObject(repo.cacheDir, oid)
        const actual = hashBytes(h, bytes)
        if (actual !== oid.hash) res.corrupt.push({ oid: o.oid, path: o.file, problem: `content hashes to ${actual}` })
        else decodeManifest(bytes, `manifest ${o.oid}`)
      } else {
        const actual = (await hashFile(o.file)).hash
        if (actual !== oid.hash) res.corrupt.push({ oid: o.oid, path: o.file, problem: `content hashes to ${actual}` })
      }
    } catch (e) {
      if (!(e instanceof XpError)) throw e
      res.corrupt.push({ oid: o.oid, path: o.file, problem: e.message })
    }
  }

  // references: the same set gc keeps (tips of every ref, every working tree's pointers)
  const tips = await namedTips(repo)
  const referenced = await referencedOids(repo, { commits: [...tips.keys()], worktree: true })
  const bad = new Set(res.corrupt.map((c) => c.oid))
  const localMissing = [...referenced].filter((o) => bad.has(o) || !hasObject(repo.cacheDir, o))
  const named = (missing: string[]) => (opts.names === false ? Promise.resolve(missing.map((oid) => ({ oid, needed_by: [] }))) : whoNeeds(repo, tips, missing))
  if (opts.remote) {
    res.remote = opts.remote.name
    const there = await opts.remote.has([...referenced], { signal: repo.ctx.signal })
    res.remote_missing = await named([...referenced].filter((o) => !there.has(o)))
    // checked against a remote, an object this clone lacks but the remote holds is not lost:
    // xp fetches it on demand (checkout, apply, model get), as git does a partial clone's objects
    res.on_remote_only = localMissing.filter((o) => there.has(o) && !bad.has(o)).length
    res.missing = await named(localMissing.filter((o) => !there.has(o) || bad.has(o)))
  } else res.missing = await named(localMissing)
  const fixes: string[] = []
  if (res.corrupt.length || res.missing.length)
    fixes.push(
      '`xp pull` fetches missing objects from the data remote; `xp add PATH` stores them again where the data still exists (a corrupt object is removed when xp reads it)',
    )
  if (res.remote_missing?.length) fixes.push(`\`xp push -r ${res.remote}\` uploads what the remote lacks from this cache`)
  if (fixes.length) res.repair = fixes.join('; ')
  return res
}

/** Commit tips of every ref (tags peeled) and HEAD, each with the names that point at it. */
async function namedTips(repo: Pick<Repo, 'root' | 'ctx'>): Promise<Map<string, string[]>> {
  const { stdout } = await git(['for-each-ref', '--format=%(objecttype) %(objectname) %(*objecttype) %(*objectname) %(refname)'], {
    cwd: repo.root,
    env: repo.ctx.env,
  })
  const tips = new Map<string, string[]>()
  const put = (c: string, name: string) => tips.set(c, [...(tips.get(c) ?? []), name])
  for (const line of stdout.split('\n')) {
    const [type, oid, ptype, poid, ref] = line.split(' ')
    if (!ref) continue
    const name = ref.startsWith('refs/xp/runs/') ? `run ${ref.slice('refs/xp/runs/'.length)}` : ref
    if (type === 'commit') put(oid, name)
    else if (ptype === 'commit') put(poid, name)
  }
  const head = await git(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (head.code === 0 && !tips.has(head.stdout.trim())) put(head.stdout.trim(), 'HEAD')
  return tips
}

/** Name who needs each missing oid: only computed when something is missing (one walk per tip then). */
async function whoNeeds(repo: Repo, tips: Map<string, string[]>, missing: string[]): Promise<MissingRef[]> {
  if (!missing.length) return []
  const want = new Set(missing)
  const by = new Map<string, string[]>(missing.map((o) => [o, []]))
  const note = (oids: Set<string>, who: string) => {
    for (const o of oids) if (want.has(o) && by.get(o)!.length < MAX_NAMED) by.get(o)!.push(who)
  }
  for (const root of await worktreeRoots(repo)) {
    for (const p of await worktreePointers({ ...repo, root }, { skipBad: true })) {
      const one = new Set([p.oid])
      await expandDirs(repo.cacheDir, one)
      note(one, `worktree ${root === repo.root ? '' : root + ':'}${p.pointerFile}`)
    }
  }
  for (const [commit, names] of tips) {
    const oids = await referencedOids(repo, { commits: [commit], worktree: false })
    note(oids, names.join(', '))
  }
  return missing.map((oid) => ({ oid, needed_by: by.get(oid)! }))
}
