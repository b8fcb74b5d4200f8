/**
 * `xp checkout [PATH...]`: make the working tree's data match its pointer files. Every
 * pointer is validated before anything is written, so one that escapes the repository
 * stops the whole command with nothing changed.
 */
import type { Repo } from '../repo.js'
import { XpError } from '../errors.js'
import { cleanTemp } from './objects.js'
import { StatCache } from './state.js'
import { materialize, type MaterializeOptions } from './materialize.js'
import { worktreePointers } from './reachable.js'
import { pointerSpecs } from './status.js'

export interface CheckedOut {
  path: string
  oid: string
  written: number
  removed: number
  unchanged: number
}

export async function checkoutData(
  repo: Repo,
  opts: { paths?: string[]; force?: boolean; fetchMissing?: MaterializeOptions['fetchMissing'] } = {},
): Promise<CheckedOut[]> {
  cleanTemp(repo.cacheDir)
  const specs = opts.paths?.length ? pointerSpecs(repo, opts.paths) : undefined
  const pointers = await worktreePointers(repo, { paths: specs })
  if (specs && !pointers.length) throw new XpError('XP_NO_POINTER', `no data tracked at ${opts.paths!.join(', ')}`, { hint: 'track it with `xp add`' })
  const state = StatCache.load(repo.xpDir)
  // every pointer checked first (manifests valid, objects present, no uncached changes lost)
  for (const p of pointers) await materialize(repo, p, p.dataPath, { force: opts.force, state, fetchMissing: opts.fetchMissing, dryRun: true })
  const out: CheckedOut[] = []
  for (const p of pointers) {
    const r = await materialize(repo, p, p.dataPath, { force: opts.force, state, fetchMissing: opts.fetchMissing })
    out.push({ path: p.dataPath, oid: p.oid, ...r })
  }
  return out
}
