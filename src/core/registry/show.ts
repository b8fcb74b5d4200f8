/**
 * `xp model ls`: the registry in the shape of `gto show --json`, folded from every tag.
 */
import type { Repo } from '../repo.js'
import { gtoShow, type GtoShowEntry } from './fold.js'
import { loadRegistry } from './read.js'

export interface RegistryShow {
  /** `gto show --json` (with `deprecated`, the deprecated artifacts too) */
  show: Record<string, GtoShowEntry>
  /** every stage in use, sorted */
  stages: string[]
  warnings: string[]
  problems: string[]
}

/**
 * Every artifact's latest version and what each stage shows.
 *
 * @example
 * const { show } = await showRegistry(repo) // { churn: { version: 'v1.1.0', stage: { production: 'v1.0.0' }, registered: true, active: true } }
 */
export async function showRegistry(repo: Pick<Repo, 'root' | 'ctx' | 'xpDir'>, opts: { deprecated?: boolean } = {}): Promise<RegistryShow> {
  const { state } = await loadRegistry(repo)
  return { show: gtoShow(state, { deprecated: opts.deprecated }), stages: state.stages, warnings: state.warnings, problems: state.problems }
}
