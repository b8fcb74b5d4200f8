/**
 * `xp rm --remote GIT_REMOTE RUN...`: delete run refs on a git remote. Runs are named by
 * id or id prefix as the remote lists them, or by name through the local records.
 */
import type { Repo } from '../repo.js'
import { git } from '../git.js'
import { XpError } from '../errors.js'
import { RUNS_PREFIX, RunRef } from '../runs/ref.js'
import { listRuns } from '../runs/list.js'
import { findRun } from '../runs/resolve.js'
import { parsePorcelain } from './refs.js'
import { remoteRefs, gitRemoteError, configuredRemotes } from './git-remote.js'

export interface RemoteRmResult {
  remote: string
  deleted: string[]
}

/**
 * @example
 * await removeRemoteRuns(repo, { remote: 'origin', runs: ['brisk-otter'] })
 */
export async function removeRemoteRuns(repo: Repo, opts: { remote: string; runs: string[] }): Promise<RemoteRmResult> {
  const theirs = [...(await remoteRefs(repo, opts.remote)).keys()]
    .filter((r) => RunRef.parse(r))
    .map((ref) => ({ ref, id: ref.slice(RUNS_PREFIX.length), name: '' }))
  const local = await listRuns(repo, { notes: false })
  const refs = new Set<string>()
  for (const spec of opts.runs) {
    const onRemote = findRun(theirs, spec)
    const byName = onRemote ? null : findRun(local, spec)
    const ref = onRemote?.ref ?? (byName && theirs.some((t) => t.ref === byName.ref) ? byName.ref : null)
    if (!ref)
      throw new XpError('XP_RUN_NOT_FOUND', `git remote "${opts.remote}" has no run matching ${JSON.stringify(spec)}`, {
        hint: 'list what it has with `git ls-remote REMOTE refs/xp/runs/*`',
      })
    refs.add(ref)
  }
  const res = await git(['push', '--porcelain', opts.remote, ...[...refs].map((r) => `:${r}`)], {
    cwd: repo.root,
    env: repo.ctx.env,
    allowFail: true,
    signal: repo.ctx.signal,
  })
  const statuses = parsePorcelain(res.stdout)
  if (res.code !== 0) {
    const bad = statuses.filter((s) => s.flag === '!')
    if (!bad.length) throw gitRemoteError(opts.remote, res, 'push to')
    throw new XpError('XP_PUSH_REJECTED', `git remote "${opts.remote}" refused to delete ${bad.map((s) => `${s.ref} (${s.summary})`).join(', ')}`, {})
  }
  return { remote: opts.remote, deleted: statuses.filter((s) => s.flag === '-').map((s) => s.ref.slice(RUNS_PREFIX.length)) }
}

export interface HeldRuns {
  remote: string
  /** ids of the runs that remote holds; empty when it could not be asked */
  ids: string[]
  /** the remote did not answer (offline, no access) */
  unreachable?: boolean
}

/**
 * Which configured git remotes still hold runs (by id): after a local `xp rm`, those come
 * back with the next `xp pull` unless they are removed there too (`xp rm --remote`). One
 * `git ls-remote` per remote, naming the refs; a remote that does not answer within
 * `timeoutMs` is reported as unreachable rather than waited for.
 *
 * @example
 * await remotesHolding(repo, ['01m8q1jfkq2phg0t540p']) // [{ remote: 'origin', ids: ['01m8q1jfkq2phg0t540p'] }]
 */
export async function remotesHolding(repo: Repo, ids: string[], opts: { timeoutMs?: number } = {}): Promise<HeldRuns[]> {
  if (!ids.length) return []
  const remotes = await configuredRemotes(repo)
  return Promise.all(
    remotes.map(async (remote) => {
      const signal = AbortSignal.timeout(opts.timeoutMs ?? 10_000)
      const res = await git(['ls-remote', remote, ...ids.map((id) => `${RUNS_PREFIX}${id}`)], {
        cwd: repo.root,
        env: { ...repo.ctx.env, GIT_TERMINAL_PROMPT: '0' },
        allowFail: true,
        signal,
      }).catch(() => null)
      if (res?.code !== 0) return { remote, ids: [], unreachable: true }
      const held = new Set(
        res.stdout
          .split('\n')
          .map((l) => l.split('\t')[1]?.slice(RUNS_PREFIX.length))
          .filter(Boolean),
      )
      return { remote, ids: ids.filter((id) => held.has(id)) }
    }),
  )
}
