/**
 * `xp rm --remote GIT_REMOTE RUN...`: delete run refs on a git remote. Runs are named by
 * id or id prefix as the remote lists them, or by name through the local records.
 */
import type { Repo } from '../repo.js'
import { git } from '../git.js'
import { XpError, EXIT } from '../errors.js'
import { RUNS_PREFIX, RunRef } from '../runs/ref.js'
import { listRuns } from '../runs/list.js'
import { findRun } from '../runs/resolve.js'
import { parsePorcelain } from './refs.js'
import { remoteRefs, gitRemoteError } from './git-remote.js'

export interface RemoteRmResult {
  remote: string
  deleted: string[]
}

/**
 * @example
 * await removeRemoteRuns(repo, { remote: 'origin', runs: ['brisk-otter'] })
 */
export async function removeRemoteRuns(repo: Repo, opts: { remote: string; runs: string[] }): Promise<RemoteRmResult> {
  const theirs = [...(await remoteRefs(repo, opts.remote)).keys()].filter((r) => RunRef.parse(r)).map((ref) => ({ ref, id: ref.slice(RUNS_PREFIX.length), name: '' }))
  const local = await listRuns(repo, { notes: false })
  const refs = new Set<string>()
  for (const spec of opts.runs) {
    const onRemote = findRun(theirs, spec)
    const byName = onRemote ? null : findRun(local, spec)
    const ref = onRemote?.ref ?? (byName && theirs.some((t) => t.ref === byName.ref) ? byName.ref : null)
    if (!ref) throw new XpError('XP_RUN_NOT_FOUND', `git remote "${opts.remote}" has no run matching ${JSON.stringify(spec)}`, { hint: 'list what it has with `git ls-remote REMOTE refs/xp/runs/*`' })
    refs.add(ref)
  }
  const res = await git(['push', '--porcelain', opts.remote, ...[...refs].map((r) => `:${r}`)], { cwd: repo.root, env: repo.ctx.env, allowFail: true, signal: repo.ctx.signal })
  const statuses = parsePorcelain(res.stdout)
  if (res.code !== 0) {
    const bad = statuses.filter((s) => s.flag === '!')
    if (!bad.length) throw gitRemoteError(opts.remote, res, 'push to')
    throw new XpError('XP_PUSH_REJECTED', `git remote "${opts.remote}" refused to delete ${bad.map((s) => `${s.ref} (${s.summary})`).join(', ')}`, { exitCode: EXIT.remote })
  }
  return { remote: opts.remote, deleted: statuses.filter((s) => s.flag === '-').map((s) => s.ref.slice(RUNS_PREFIX.length)) }
}
