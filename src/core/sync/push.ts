/**
 * `xp push`: data first, refs last (docs/architecture.md#principles). Upload every object that the pushed runs,
 * registry tags and the working tree's pointers reference and that the data remote lacks
 * (asked of the data remote, whatever the git remote holds), then push the refs that the
 * git remote lacks, by
 * explicit name (never a wildcard, so a run recorded meanwhile cannot slip out without its
 * data). A rejected notes push is cured by fetching and merging the remote's notes, then
 * pushing again; a run ref never conflicts.
 */
import type { Repo } from '../repo.js'
import { loadConfig } from '../repo.js'
import { git } from '../git.js'
import { XpError } from '../errors.js'
import { NOTES_REF, RUNS_PREFIX } from '../runs/ref.js'
import { listRuns } from '../runs/list.js'
import { resolveRun } from '../runs/resolve.js'
import { parseLocalRefs, changedRefs, parsePorcelain, isRetryableRejection, chunkArgs, TAGS_PREFIX, type RefEntry, type PushStatus } from './refs.js'
import { remoteRefs, gitRemoteError } from './git-remote.js'
import { fetchAndMergeNotes } from './notes.js'
import { referencedData, openDataRemote } from './data.js'
import { uploadObjects, type TransferSummary } from './transfer.js'
import { FsRemote } from '../../remotes/fs.js'

export interface PushOptions {
  /** git remote name or URL */
  remote: string
  /** run specs (id, prefix, name); all runs when empty */
  runs?: string[]
  /** data remote name or URL; the default when unset */
  dataRemote?: string
  jobs?: number
  /** push refs without uploading their data */
  noData?: boolean
  /** create a folder data remote that does not exist yet (its parent must) */
  createRemote?: boolean
}

export interface PushResult {
  remote: string
  runs: { pushed: number; upToDate: number }
  tags: { pushed: number }
  notes: 'pushed' | 'merged' | 'up-to-date' | 'none'
  data: (TransferSummary & { remote: string }) | null
}

/**
 * The shared refs of the local repository. Runs and notes are listed by name and id only:
 * asking for object types or peeled ids would make git read every run's commit.
 */
export async function localSharedRefs(repo: Pick<Repo, 'root' | 'ctx'>): Promise<RefEntry[]> {
  const opts = { cwd: repo.root, env: repo.ctx.env }
  const [runs, tags] = await Promise.all([
    git(['for-each-ref', '--format=%(objectname) commit  %(refname)', RUNS_PREFIX, NOTES_REF], opts),
    git(['for-each-ref', '--format=%(objectname) %(objecttype) %(*objectname) %(refname)', TAGS_PREFIX], opts),
  ])
  return parseLocalRefs(runs.stdout + tags.stdout)
}

/**
 * @example
 * const res = await pushRuns(repo, { remote: 'origin' })  // res.runs.pushed === 3
 */
export async function pushRuns(repo: Repo, opts: PushOptions): Promise<PushResult> {
  // the local refs, the remote's and the working tree's data are found at once: three
  // independent git processes waited for together, not one after another
  const worktreeData = opts.noData ? Promise.resolve([]) : referencedData(repo, { commits: [], worktree: true })
  worktreeData.catch(() => {}) // awaited below; a failure elsewhere first must not leave it unhandled
  const theirsP = remoteRefs(repo, opts.remote)
  theirsP.catch(() => {})
  const local = await localSharedRefs(repo)
  let chosen = local
  if (opts.runs?.length) {
    const runs = await listRuns(repo, { notes: false })
    const wanted = new Set(opts.runs.map((s) => resolveRun(runs, s).ref))
    chosen = local.filter((e) => !e.ref.startsWith(RUNS_PREFIX) || wanted.has(e.ref))
  }
  const theirs = await theirsP
  const changed = changedRefs(chosen, theirs)
  const runRefs = changed.filter((e) => e.ref.startsWith(RUNS_PREFIX))
  const tagRefs = changed.filter((e) => e.ref.startsWith(TAGS_PREFIX))
  const notesChanged = changed.some((e) => e.ref === NOTES_REF)
  const result: PushResult = {
    remote: opts.remote,
    runs: { pushed: 0, upToDate: chosen.filter((e) => e.ref.startsWith(RUNS_PREFIX)).length - runRefs.length },
    tags: { pushed: 0 },
    notes: chosen.some((e) => e.ref === NOTES_REF) ? (notesChanged ? 'pushed' : 'up-to-date') : 'none',
    data: null,
  }

  // 1. data, then 2. refs
  const uploadFor = async (refs: RefEntry[], shared: RefEntry[] = [], worktree = false) => {
    if (opts.noData) return
    const oids = refs.length ? await referencedData(repo, { commits: refs.map((e) => e.peeled ?? e.oid), worktree: false }) : []
    if (worktree) {
      const seen = new Set(oids)
      oids.push(...(await worktreeData).filter((o) => !seen.has(o)))
    }
    // runs and tags the git remote has already: their data goes too when this clone has
    // it, and what it lacks is not a reason to hold back the push (their refs are out)
    const must = new Set(oids)
    const config = loadConfig(repo)
    // with nothing that must go and no data remote to take the rest, their trees need no walk
    const anyRemote = !!(opts.dataRemote || config.remote || Object.keys(config.remotes ?? {}).length)
    const more =
      shared.length && (must.size || anyRemote)
        ? (await referencedData(repo, { commits: shared.map((e) => e.peeled ?? e.oid), worktree: false })).filter((o) => !must.has(o))
        : []
    oids.push(...more)
    if (!oids.length) return
    // only data of refs the git remote has: a clone with no data remote set still pushes
    const optional = !must.size && !opts.dataRemote
    const remote = optional
      ? await openDataRemote(repo, config, undefined, opts.jobs).catch(() => null)
      : await openDataRemote(repo, config, opts.dataRemote, opts.jobs)
    if (!remote && optional) return
    if (!remote)
      throw new XpError('XP_NO_DATA_REMOTE', `the runs to push reference ${oids.length} data object${oids.length === 1 ? '' : 's'} and no data remote is set`, {
        hint: 'add one with `xp remote add NAME URL --default`, or push the refs alone with --no-data',
      })
    try {
      if (opts.createRemote && remote instanceof FsRemote) remote.create()
      const s = await uploadObjects(repo.ctx, repo.cacheDir, remote, oids, { jobs: opts.jobs, mayLack: new Set(more) })
      if (s.lost)
        repo.ctx.warn(
          `${s.lost} object${s.lost === 1 ? '' : 's'} of runs already on "${opts.remote}" ${s.lost === 1 ? 'is' : 'are'} in neither this cache nor data remote "${remote.name}"; push from a clone that has them, or \`xp pull --all-data\` first`,
        )
      result.data = result.data
        ? { ...s, transferred: result.data.transferred + s.transferred, bytes: result.data.bytes + s.bytes, remote: remote.name }
        : { ...s, remote: remote.name }
    } finally {
      remote.close()
    }
  }
  // Every run and tag being pushed, not only those the git remote lacks: the data remote
  // may be new (or another one), and what it lacks is asked of it (one batched existence
  // query in uploadObjects), never inferred from the git remote.
  const changedSet = new Set(changed.map((e) => e.ref))
  const shared = chosen.filter((e) => (e.ref.startsWith(RUNS_PREFIX) || e.ref.startsWith(TAGS_PREFIX)) && !changedSet.has(e.ref))
  await uploadFor([...runRefs, ...tagRefs], shared, true)

  // Every run: one wildcard refspec (git matches explicit refspecs in quadratic time: 10,000
  // of them cost minutes). A run recorded since the listing would ride along without its
  // data, so look again right before pushing and upload for any newcomer first.
  const allRuns = !opts.runs?.length
  const known = new Set(chosen.map((e) => e.ref))
  if (allRuns && runRefs.length) {
    // the run refs only (the wildcard carries runs alone): one for-each-ref
    const { stdout } = await git(['for-each-ref', '--format=%(objectname) commit  %(refname)', RUNS_PREFIX], { cwd: repo.root, env: repo.ctx.env })
    const late = parseLocalRefs(stdout).filter((e) => !known.has(e.ref))
    if (late.length) await uploadFor(late)
  }
  const refspecs = allRuns ? (runRefs.length ? [`${RUNS_PREFIX}*:${RUNS_PREFIX}*`] : []) : runRefs.map((e) => `${e.ref}:${e.ref}`)
  refspecs.push(...tagRefs.map((e) => `${e.ref}:${e.ref}`))
  if (notesChanged) refspecs.push(`${NOTES_REF}:${NOTES_REF}`)
  for (let attempt = 0; refspecs.length; attempt++) {
    const statuses = await pushRefspecs(repo, opts.remote, refspecs)
    const retry: string[] = []
    const fatal: PushStatus[] = []
    for (const s of statuses) {
      if (s.flag === '!') {
        if (isRetryableRejection(s) && attempt < 6) retry.push(`${s.ref}:${s.ref}`)
        else fatal.push(s)
      } else if (s.flag !== '=') {
        if (s.ref.startsWith(RUNS_PREFIX)) result.runs.pushed++
        else if (s.ref.startsWith(TAGS_PREFIX)) result.tags.pushed++
      }
    }
    if (fatal.length)
      throw new XpError(
        'XP_PUSH_REJECTED',
        `git remote "${opts.remote}" rejected ${fatal.length} ref${fatal.length === 1 ? '' : 's'}: ${fatal
          .slice(0, 3)
          .map((s) => `${s.ref} (${s.summary})`)
          .join(', ')}`,
        {
          hint: fatal.every((s) => s.ref.startsWith(TAGS_PREFIX))
            ? 'a tag with that name already exists there with other content (two clones wrote to the registry at once): `xp pull` keeps both events, then push again'
            : 'a tag or run with that name already exists there with other content (a run: the same history imported in two clones?): to keep theirs, `xp rm` yours and `xp pull`',
          data: { rejected: fatal },
        },
      )
    if (!retry.length) break
    if (retry.some((r) => r.startsWith(NOTES_REF + ':'))) {
      await fetchAndMergeNotes(repo, opts.remote)
      result.notes = 'merged'
    }
    await new Promise((r) => setTimeout(r, 50 * 2 ** attempt * Math.random()))
    refspecs.splice(0, refspecs.length, ...retry)
  }
  return result
}

/** One or more `git push --porcelain` calls (chunked under the argument limit). */
async function pushRefspecs(repo: Repo, remote: string, refspecs: string[]): Promise<PushStatus[]> {
  const out: PushStatus[] = []
  for (const chunk of chunkArgs(refspecs)) {
    const res = await git(['push', '--porcelain', remote, ...chunk], { cwd: repo.root, env: repo.ctx.env, allowFail: true, signal: repo.ctx.signal })
    const statuses = parsePorcelain(res.stdout)
    if (res.code !== 0 && !statuses.some((s) => s.flag === '!')) throw gitRemoteError(remote, res, 'push to')
    out.push(...statuses)
  }
  return out
}
