/**
 * Notes can conflict (two people noting at once, docs/architecture.md#run-record): fetch the remote's notes
 * into a scratch ref and merge them into ours with `cat_sort_uniq`, which concatenates the
 * lines of both sides for a run noted on both, so nothing anyone wrote is lost.
 */
import type { Repo } from '../repo.js'
import { git, gitAsAuthor } from '../git.js'
import { NOTES_REF } from '../runs/ref.js'
import { gitRemoteError } from './git-remote.js'

export const INCOMING_NOTES_REF = 'refs/notes/xp-incoming'

/** Fetch `refs/notes/xp` from the remote and merge it into ours; returns how it went. */
export async function fetchAndMergeNotes(repo: Pick<Repo, 'root' | 'ctx'>, remote: string): Promise<'none' | 'up-to-date' | 'merged'> {
  const env = repo.ctx.env
  const res = await git(['fetch', '--no-tags', '--quiet', remote, `+${NOTES_REF}:${INCOMING_NOTES_REF}`], {
    cwd: repo.root,
    env,
    allowFail: true,
    signal: repo.ctx.signal,
  })
  if (res.code !== 0) {
    if (/couldn't find remote ref/i.test(res.stderr)) return 'none'
    throw gitRemoteError(remote, res, 'fetch from')
  }
  return mergeIncomingNotes(repo)
}

/** Merge INCOMING_NOTES_REF into refs/notes/xp, then drop the scratch ref. */
export async function mergeIncomingNotes(repo: Pick<Repo, 'root' | 'ctx'>): Promise<'none' | 'up-to-date' | 'merged'> {
  const env = repo.ctx.env
  const opts = { cwd: repo.root, env }
  try {
    const incoming = (await git(['rev-parse', '--verify', '-q', INCOMING_NOTES_REF], { ...opts, allowFail: true })).stdout.trim()
    if (!incoming) return 'none'
    const ours = (await git(['rev-parse', '--verify', '-q', NOTES_REF], { ...opts, allowFail: true })).stdout.trim()
    if (ours === incoming) return 'up-to-date'
    if (!ours) {
      await git(['update-ref', NOTES_REF, incoming, ''], opts)
      return 'merged'
    }
    const base = await git(['merge-base', '--is-ancestor', incoming, ours], { ...opts, allowFail: true })
    if (base.code === 0) return 'up-to-date'
    // the user's identity; a fallback one only when git has none
    await gitAsAuthor(['notes', `--ref=${NOTES_REF}`, 'merge', '-q', '-s', 'cat_sort_uniq', INCOMING_NOTES_REF], opts)
    return 'merged'
  } finally {
    await git(['update-ref', '-d', INCOMING_NOTES_REF], { ...opts, allowFail: true })
  }
}
