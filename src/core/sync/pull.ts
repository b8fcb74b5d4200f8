/**
 * `xp pull`: fetch the runs, notes and registry tags the local repository lacks (by
 * name, after one `git ls-remote`), merge the notes, then fetch the data of the working
 * tree's pointers (every pulled run's too with allData, none with noData) into the cache.
 */
import type { Repo } from '../repo.js'
import { loadConfig } from '../repo.js'
import { git } from '../git.js'
import { XpError } from '../errors.js'
import { checkoutData } from '../cache/checkout.js'
import { FreshCheckout } from '../cache/materialize.js'
import { worktreePointers } from '../cache/reachable.js'
import { NOTES_REF, RUNS_PREFIX, RunRef } from '../runs/ref.js'
import { listRuns } from '../runs/list.js'
import { resolveRun } from '../runs/resolve.js'
import { changedRefs, chunkArgs, isSharedRef, TAGS_PREFIX, type RefEntry } from './refs.js'
import { remoteRefs, gitRemoteError, noGitRemote } from './git-remote.js'
import { mergeIncomingNotes, INCOMING_NOTES_REF } from './notes.js'
import { localSharedRefs, anyDataRemote } from './push.js'
import { referencedData, fetchObjects } from './data.js'
import type { TransferSummary } from './transfer.js'
import { renumberClashingTags } from './tag-clash.js'

export interface PullOptions {
  /** git remote name or URL; null: none, the data alone is fetched (the working tree's; every local run's with allData) */
  remote: string | null
  runs?: string[]
  dataRemote?: string
  jobs?: number
  /** fetch the data of every pulled run, not only the working tree's */
  allData?: boolean
  noData?: boolean
}

export interface PullResult {
  /** null: no git remote, the data alone was fetched */
  remote: string | null
  runs: { fetched: number; upToDate: number }
  tags: { fetched: number }
  notes: 'merged' | 'up-to-date' | 'none'
  data: (TransferSummary & { remote: string }) | null
  /** objects referenced but neither in the cache nor fetchable (no data remote) */
  missing: number
  /** data files written into the working tree */
  checkedOut: number
}

/** Pick the remote's run refs that specs name by id or id prefix; null if a spec needs names (the records). */
function pickRemoteRuns(runRefs: RefEntry[], specs: string[]): RefEntry[] | null {
  const out = new Set<RefEntry>()
  for (const spec of specs) {
    const s = spec.startsWith(RUNS_PREFIX) ? spec.slice(RUNS_PREFIX.length) : spec.toLowerCase()
    const hits = s.length >= 4 ? runRefs.filter((e) => e.ref.slice(RUNS_PREFIX.length).startsWith(s)) : []
    if (hits.length !== 1) return null
    out.add(hits[0])
  }
  return [...out]
}

/**
 * @example
 * const res = await pullRuns(repo, { remote: 'origin' })  // res.runs.fetched === 2
 */
export async function pullRuns(repo: Repo, opts: PullOptions): Promise<PullResult> {
  if (opts.remote === null) return pullDataOnly(repo, opts)
  const theirs = [...(await remoteRefs(repo, opts.remote)).values()].filter((e) => isSharedRef(e, e.peeled !== undefined))
  const remoteRuns = theirs.filter((e) => RunRef.parse(e.ref))
  const picked = opts.runs?.length ? pickRemoteRuns(remoteRuns, opts.runs) : null
  const wanted = theirs.filter((e) => e.ref !== NOTES_REF && (!picked || !e.ref.startsWith(RUNS_PREFIX) || picked.includes(e)))
  const mine = new Map((await localSharedRefs(repo)).map((e) => [e.ref, e]))
  const changed = changedRefs(wanted, mine)
  // a registry event made here and one made there under the same name: keep both (tag-clash.ts)
  const clashes = changed.filter((e) => e.ref.startsWith(TAGS_PREFIX) && mine.has(e.ref)).map((e) => mine.get(e.ref)!)
  if (clashes.length) {
    const known = [...theirs, ...mine.values()].filter((e) => e.ref.startsWith(TAGS_PREFIX)).map((e) => e.ref.slice(TAGS_PREFIX.length))
    for (const [from, to] of await renumberClashingTags(repo, opts.remote, clashes, known))
      repo.ctx.warn(`registry tag ${from} was made here and on "${opts.remote}" at once: yours is now ${to} (same event), theirs is fetched; push to share it`)
  }
  // a run both sides hold with other commits (the same foreign history imported in two
  // clones: its id derives from the source) is kept as it is here, not fetched: a fetch
  // would refuse to replace it and take the whole pull down with it
  const diverged = changed.filter((e) => e.ref.startsWith(RUNS_PREFIX) && mine.has(e.ref))
  if (diverged.length)
    repo.ctx.warn(
      `${diverged.length} run${diverged.length === 1 ? '' : 's'} differ${diverged.length === 1 ? 's' : ''} here and on "${opts.remote}" (${diverged
        .slice(0, 3)
        .map((e) => e.ref.slice(RUNS_PREFIX.length))
        .join(', ')}${diverged.length > 3 ? ', ...' : ''}): kept yours; to take theirs, \`xp rm\` yours and pull again`,
    )
  // every run: one wildcard (git matches explicit refspecs in quadratic time); else by name
  const newRuns = changed.filter((e) => e.ref.startsWith(RUNS_PREFIX) && !mine.has(e.ref))
  const refspecs = picked || !newRuns.length || diverged.length ? newRuns.map((e) => `${e.ref}:${e.ref}`) : [`${RUNS_PREFIX}*:${RUNS_PREFIX}*`]
  refspecs.push(...changed.filter((e) => !e.ref.startsWith(RUNS_PREFIX)).map((e) => `${e.ref}:${e.ref}`))
  const notes = theirs.find((e) => e.ref === NOTES_REF)
  if (notes && mine.get(NOTES_REF)?.oid !== notes.oid) refspecs.push(`+${NOTES_REF}:${INCOMING_NOTES_REF}`)
  for (const chunk of chunkArgs(refspecs)) {
    const res = await git(['fetch', '--no-tags', '--no-write-fetch-head', '--quiet', opts.remote, ...chunk], {
      cwd: repo.root,
      env: repo.ctx.env,
      allowFail: true,
      signal: repo.ctx.signal,
    })
    if (res.code !== 0) throw gitRemoteError(opts.remote, res, 'fetch from')
  }
  const notesState = notes ? await mergeIncomingNotes(repo) : 'none'
  // thousands of new loose refs slow every listing: pack them, as git gc would (docs/architecture.md#decisions-and-their-measurements)
  if (newRuns.length >= 500) await git(['pack-refs', '--all'], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  const fetchedRuns = newRuns
  const result: PullResult = {
    remote: opts.remote,
    runs: { fetched: fetchedRuns.length, upToDate: wanted.filter((e) => e.ref.startsWith(RUNS_PREFIX)).length - fetchedRuns.length },
    tags: { fetched: changed.filter((e) => e.ref.startsWith(TAGS_PREFIX)).length },
    notes: notesState === 'none' && notes ? 'up-to-date' : notesState,
    data: null,
    missing: 0,
    checkedOut: 0,
  }
  if (opts.noData) return result

  // data: the working tree's pointers, plus the named runs, plus every pulled run with allData
  let commits: string[] = []
  if (opts.runs?.length) {
    const runs = await listRuns(repo, { notes: false })
    commits = opts.runs.map((s) => resolveRun(runs, s).commit)
  }
  if (opts.allData)
    commits.push(
      ...(picked ?? remoteRuns).filter((e) => !diverged.includes(e)).map((e) => e.oid),
      ...changed.filter((e) => e.ref.startsWith(TAGS_PREFIX)).map((e) => e.peeled ?? e.oid),
    )
  return pullData(repo, opts, commits, result)
}

/**
 * `xp pull` with no git remote: the data alone, as `dvc pull` does: the working tree's, and
 * with --all-data every local run's and registry tag's. A data remote must be set.
 */
async function pullDataOnly(repo: Repo, opts: PullOptions): Promise<PullResult> {
  const config = loadConfig(repo)
  if (opts.noData || !anyDataRemote(config, opts.dataRemote)) throw noGitRemote()
  const result: PullResult = { remote: null, runs: { fetched: 0, upToDate: 0 }, tags: { fetched: 0 }, notes: 'none', data: null, missing: 0, checkedOut: 0 }
  const commits = opts.allData
    ? (await localSharedRefs(repo)).filter((e) => e.ref.startsWith(RUNS_PREFIX) || e.ref.startsWith(TAGS_PREFIX)).map((e) => e.peeled ?? e.oid)
    : []
  return pullData(repo, opts, commits, result)
}

/** The data stage of a pull: fetch what `commits` and the working tree's pointers name, then write the working tree's. */
async function pullData(repo: Repo, opts: PullOptions, commits: string[], result: PullResult): Promise<PullResult> {
  // a data path absent from the working tree is written as its files arrive, from the bytes in hand
  const fresh = new FreshCheckout(repo, await worktreePointers(repo, { skipBad: true }))
  let fetched: Awaited<ReturnType<typeof fetchObjects>>
  let done: Set<string>
  try {
    fetched = await fetchObjects(repo, await referencedData(repo, { commits, worktree: true }), { dataRemote: opts.dataRemote, jobs: opts.jobs, fresh })
  } finally {
    done = await fresh.finish()
  }
  result.data = fetched.data
  result.missing = fetched.missing
  if (fetched.missing)
    repo.ctx.warn(
      `${fetched.missing} data object${fetched.missing === 1 ? ' is' : 's are'} not in the cache and no data remote is set (xp remote add NAME URL --default)`,
    )
  // then the working tree: data paths that are absent or stale are written from the cache
  try {
    result.checkedOut = fresh.written + (await checkoutData(repo, { skip: done })).reduce((n, r) => n + r.written, 0)
  } catch (e) {
    if (!(e instanceof XpError) || !['XP_CHECKOUT_CONFLICT', 'XP_CACHE_MISSING'].includes(e.code)) throw e
    repo.ctx.warn(`the working tree's data was left as it is: ${e.message}`)
  }
  return result
}
