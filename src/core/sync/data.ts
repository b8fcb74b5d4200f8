/**
 * Where push and pull meet the cache: which objects a set of commits and the working tree
 * reference (the cache's reachable.ts), the data remote to move them with, fetching until
 * the manifests' files are in too, and the `fetchMissing` hook that lets `xp checkout`
 * and `xp model get` fetch on demand.
 */
import type { Repo, ProjectConfig } from '../repo.js'
import { loadConfig } from '../repo.js'
import { XpError } from '../errors.js'
import { referencedOids, expandDirs } from '../cache/reachable.js'
import { missingObjects } from '../cache/objects.js'
import { defaultRemoteName, openRemote, type DataRemote } from '../../remotes/index.js'
import { downloadObjects, type TransferSummary } from './transfer.js'
import type { FreshCheckout } from '../cache/materialize.js'

/** Oids (files and manifests, with the files of manifests in the cache) referenced by `commits` and, optionally, the working tree's pointers. */
export async function referencedData(repo: Repo, opts: { commits: string[]; worktree: boolean }): Promise<string[]> {
  return [...(await referencedOids(repo, opts))]
}

/** Open the data remote asked for, or the default; null when there is none and none was asked for. */
export async function openDataRemote(
  repo: Repo,
  config: Pick<ProjectConfig, 'remote' | 'remotes'>,
  asked: string | undefined,
  jobs?: number,
): Promise<DataRemote | null> {
  const name = defaultRemoteName(config, asked)
  if (!name) {
    const names = Object.keys(config.remotes ?? {})
    if (names.length > 1)
      throw new XpError('XP_NO_DEFAULT_REMOTE', `several data remotes (${names.join(', ')}) and no default`, {
        hint: 'pass -r NAME, or set one with `xp remote add NAME URL --default`',
      })
    return null
  }
  return openRemote(repo.ctx, config, name, { root: repo.root, jobs })
}

/**
 * Download `oids` that the cache lacks, then the files of any manifest that arrived, until
 * nothing referenced is missing. Returns the summary (null when nothing moved) and how many
 * stay missing because there is no remote.
 */
export async function fetchObjects(
  repo: Repo,
  oids: Iterable<string>,
  opts: { dataRemote?: string; jobs?: number; fresh?: FreshCheckout } = {},
): Promise<{ data: (TransferSummary & { remote: string }) | null; missing: number }> {
  const set = new Set(oids)
  await expandDirs(repo.cacheDir, set)
  let missing = missingObjects(repo.cacheDir, set)
  if (!missing.length) return { data: null, missing: 0 }
  const remote = await openDataRemote(repo, loadConfig(repo), opts.dataRemote, opts.jobs)
  if (!remote) return { data: null, missing: missing.length }
  const total: TransferSummary & { remote: string } = { wanted: 0, transferred: 0, bytes: 0, present: 0, remote: remote.name }
  try {
    for (let round = 0; missing.length && round < 3; round++) {
      await opts.fresh?.plan()
      const s = await downloadObjects(repo.ctx, repo.cacheDir, remote, missing, { jobs: opts.jobs, fresh: opts.fresh })
      total.transferred += s.transferred
      total.bytes += s.bytes
      // the manifests that just arrived name files: fetch those too
      await expandDirs(repo.cacheDir, set)
      missing = missingObjects(repo.cacheDir, set)
    }
  } finally {
    remote.close()
  }
  total.wanted = set.size
  total.present = set.size - total.transferred
  return { data: total, missing: missing.length }
}

/**
 * The `fetchMissing` hook for materialize: fetch from the default data remote on demand.
 * Undefined when no data remote is configured (materialize then fails with XP_CACHE_MISSING).
 *
 * @example
 * await checkoutData(repo, { fetchMissing: remoteFetcher(repo) })
 */
export function remoteFetcher(repo: Repo, opts: { dataRemote?: string; jobs?: number } = {}): ((oids: string[]) => Promise<void>) | undefined {
  let config: ProjectConfig
  try {
    config = loadConfig(repo)
  } catch {
    return undefined
  }
  if (!defaultRemoteName(config, opts.dataRemote)) return undefined
  return async (oids) => {
    await fetchObjects(repo, oids, opts)
  }
}
