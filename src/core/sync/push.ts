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
import fs from 'node:fs'
import path from 'node:path'
import { loadConfig, ensureXpDir } from '../repo.js'
import { git } from '../git.js'
import { XpError } from '../errors.js'
import { NOTES_REF, RUNS_PREFIX } from '../runs/ref.js'
import { readRefFiles, noRefFiles } from '../ref-files.js'
import {
  parseLocalRefs,
  isSharedRef,
  changedRefs,
  parsePorcelain,
  isRetryableRejection,
  chunkArgs,
  TAGS_PREFIX,
  type RefEntry,
  type PushStatus,
} from './refs.js'
import { remoteRefs, gitRemoteError, noGitRemote } from './git-remote.js'
import { referencedOids } from '../cache/reachable.js'
import type { TransferSummary } from './transfer.js'

export interface PushOptions {
  /** git remote name or URL; null: none, the data alone is pushed (to a data remote that must be set) */
  remote: string | null
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
  /** null: no git remote, the data alone was pushed */
  remote: string | null
  runs: { pushed: number; upToDate: number }
  tags: { pushed: number }
  notes: 'pushed' | 'merged' | 'up-to-date' | 'none'
  data: (TransferSummary & { remote: string }) | null
}

/**
 * The shared refs of the local repository. Runs and notes are listed by name and id only:
 * asking for object types or peeled ids would make git read every run's commit. Read from
 * the ref files in-process when the repository keeps them as files (a `for-each-ref`
 * process less), and tags are not listed at all when there is none.
 */
export async function localSharedRefs(repo: Pick<Repo, 'root' | 'ctx' | 'commonDir'>): Promise<RefEntry[]> {
  const opts = { cwd: repo.root, env: repo.ctx.env }
  const files = readRefFiles(repo.commonDir, repo.ctx.env, RUNS_PREFIX, [NOTES_REF])
  const noTags = noRefFiles(repo.commonDir, repo.ctx.env, TAGS_PREFIX)
  const [runs, tags] = await Promise.all([
    files ? null : git(['for-each-ref', '--format=%(objectname) commit  %(refname)', RUNS_PREFIX, NOTES_REF], opts),
    noTags ? null : git(['for-each-ref', '--format=%(objectname) %(objecttype) %(*objectname) %(refname)', TAGS_PREFIX], opts),
  ])
  const out = files ? fromFiles(files) : parseLocalRefs(runs!.stdout)
  if (tags) out.push(...parseLocalRefs(tags.stdout))
  return out
}

/** Shared refs from readRefFiles, in git's order (by name). */
function fromFiles(files: Map<string, string>): RefEntry[] {
  return [...files]
    .map(([ref, oid]) => ({ ref, oid }))
    .filter((e) => isSharedRef(e))
    .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0))
}

/** The data objects the commits and the working tree's pointers name (data.ts's referencedData, without loading the remotes). */
async function referencedData(repo: Repo, opts: { commits: string[]; worktree: boolean }): Promise<string[]> {
  return [...(await referencedOids(repo, opts))]
}

/** Whether a data remote is named (`-r`) or configured (xp.yaml's `remote:` or `remotes:`). */
export function anyDataRemote(config: { remote?: string; remotes?: Record<string, unknown> }, named?: string): boolean {
  return !!(named || config.remote || Object.keys(config.remotes ?? {}).length)
}

/** Past this many registry tags to push, the remote is listed first: git matches explicit refspecs in quadratic time. */
const BLIND_TAGS = 64

/**
 * Whether none of these runs and tags, nor the working tree, names any data. Commits found
 * so are kept in `.xp/data-free-commits` (one id a line): a commit never changes, so the
 * next push need not walk its tree again. Only data-free commits are kept, and a torn or
 * damaged line is no id and not trusted.
 */
async function dataFree(repo: Repo, refs: RefEntry[], worktree: Promise<string[]>): Promise<boolean> {
  if ((await worktree).length) return false
  const file = path.join(repo.xpDir, 'data-free-commits')
  let known = new Set<string>()
  try {
    known = new Set(fs.readFileSync(file, 'latin1').split('\n'))
  } catch {
    // none kept yet
  }
  const commits = [...new Set(refs.filter((e) => e.ref.startsWith(RUNS_PREFIX) || e.ref.startsWith(TAGS_PREFIX)).map((e) => e.peeled ?? e.oid))].filter(
    (c) => !known.has(c) || !/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(c),
  )
  if (!commits.length) return true
  if ((await referencedOids(repo, { commits, worktree: false })).size) return false
  try {
    ensureXpDir(repo)
    fs.appendFileSync(file, commits.map((c) => c + '\n').join(''))
  } catch {
    // a read-only checkout walks again next time
  }
  return true
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
  const config = loadConfig(repo)
  const anyRemote = anyDataRemote(config, opts.dataRemote)
  // no git remote at all: the data alone (as `dvc push`), which needs somewhere to go
  const dataOnly = opts.remote === null
  if (dataOnly && (opts.noData || !anyRemote)) throw noGitRemote()
  const allRuns = !opts.runs?.length
  // Without a data remote the data step can only fail (data that must go, nowhere to go)
  // or do nothing. When no run or tag to push names data (all of them: which ones the git
  // remote lacks is not known yet), the remote's refs need no listing of their own: the
  // push itself says what was new and what was there (a `git ls-remote` process less).
  const mayGoBlind = allRuns && (opts.noData || !anyRemote)
  const theirsP = mayGoBlind || opts.remote === null ? null : remoteRefs(repo, opts.remote)
  theirsP?.catch(() => {})
  const local = await localSharedRefs(repo)
  let chosen = local
  if (opts.runs?.length) {
    const [{ listRuns }, { resolveRun }] = await Promise.all([import('../runs/list.js'), import('../runs/resolve.js')])
    const runs = await listRuns(repo, { notes: false })
    const wanted = new Set(opts.runs.map((s) => resolveRun(runs, s).ref))
    chosen = local.filter((e) => !e.ref.startsWith(RUNS_PREFIX) || wanted.has(e.ref))
  }
  const blind =
    !dataOnly &&
    mayGoBlind &&
    chosen.filter((e) => e.ref.startsWith(TAGS_PREFIX)).length <= BLIND_TAGS &&
    (opts.noData || (await dataFree(repo, chosen, worktreeData)))
  const theirs = blind || opts.remote === null ? null : await (theirsP ?? remoteRefs(repo, opts.remote))
  // with no git remote no ref moves: every run and tag is one the remote "has" (its data may lack)
  const changed = dataOnly ? [] : theirs ? changedRefs(chosen, theirs) : chosen
  const runRefs = changed.filter((e) => e.ref.startsWith(RUNS_PREFIX))
  const tagRefs = changed.filter((e) => e.ref.startsWith(TAGS_PREFIX))
  const notesChanged = changed.some((e) => e.ref === NOTES_REF)
  const result: PushResult = {
    remote: opts.remote,
    runs: { pushed: 0, upToDate: dataOnly ? 0 : chosen.filter((e) => e.ref.startsWith(RUNS_PREFIX)).length - runRefs.length },
    tags: { pushed: 0 },
    notes: !dataOnly && chosen.some((e) => e.ref === NOTES_REF) ? (notesChanged ? 'pushed' : 'up-to-date') : 'none',
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
    // with nothing that must go and no data remote to take the rest, their trees need no walk
    const more =
      shared.length && (must.size || anyRemote)
        ? (await referencedData(repo, { commits: shared.map((e) => e.peeled ?? e.oid), worktree: false })).filter((o) => !must.has(o))
        : []
    oids.push(...more)
    if (!oids.length) return
    // only data of refs the git remote has: a clone with no data remote set still pushes
    // (the modules that move data load only when there is data to move)
    const [{ openDataRemote }, { uploadObjects }, { FsRemote }] = await Promise.all([
      import('./data.js'),
      import('./transfer.js'),
      import('../../remotes/fs.js'),
    ])
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
          `${s.lost} object${s.lost === 1 ? '' : 's'} of runs ${opts.remote === null ? 'here' : `already on "${opts.remote}"`} ${s.lost === 1 ? 'is' : 'are'} in neither this cache nor data remote "${remote.name}"; push from a clone that has them, or \`xp pull --all-data\` first`,
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
  // blind: none of them names data (dataFree), or --no-data
  if (!blind) await uploadFor([...runRefs, ...tagRefs], shared, true)
  if (opts.remote === null) return result

  // Every run: one wildcard refspec (git matches explicit refspecs in quadratic time: 10,000
  // of them cost minutes). A run recorded since the listing would ride along without its
  // data, so look again right before pushing and upload for any newcomer first.
  const known = new Set(chosen.map((e) => e.ref))
  if (allRuns && runRefs.length) {
    // the run refs only (the wildcard carries runs alone): their files, or one for-each-ref
    const files = readRefFiles(repo.commonDir, repo.ctx.env, RUNS_PREFIX)
    const now = files
      ? fromFiles(files)
      : parseLocalRefs((await git(['for-each-ref', '--format=%(objectname) commit  %(refname)', RUNS_PREFIX], { cwd: repo.root, env: repo.ctx.env })).stdout)
    const late = now.filter((e) => !known.has(e.ref))
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
      } else if (blind) {
        // what the git remote had already, as the push found it
        if (s.ref.startsWith(RUNS_PREFIX)) result.runs.upToDate++
        else if (s.ref === NOTES_REF && result.notes === 'pushed') result.notes = 'up-to-date'
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
      await (await import('./notes.js')).fetchAndMergeNotes(repo, opts.remote)
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
