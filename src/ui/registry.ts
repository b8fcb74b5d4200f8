/**
 * The registry page's data: artifacts with their versions, stages and history, from the
 * folded GTO tags (core/registry). Plain JSON for the page; nothing is written.
 */
import type { Repo } from '../core/repo.js'
import { loadRegistry } from '../core/registry/read.js'
import type { VersionState, StageHolder, RegistryEvent } from '../core/registry/fold.js'

export interface RegistryView {
  available: true
  stages: string[]
  problems: string[]
  warnings: string[]
  artifacts: Array<{
    name: string
    active: boolean
    latest: string | null
    versions: VersionState[]
    stages: Record<string, StageHolder[]>
    /** newest first */
    history: Array<Pick<RegistryEvent, 'tag' | 'time' | 'commit' | 'tagger' | 'email' | 'message' | 'kind' | 'version' | 'stage'>>
  }>
}

/**
 * @example
 * const view = await registryView(repo) // view.artifacts[0].latest === 'v1.2.0'
 */
export async function registryView(repo: Pick<Repo, 'root' | 'ctx' | 'xpDir'>): Promise<RegistryView> {
  const { state } = await loadRegistry(repo, { details: true })
  const artifacts = [...state.artifacts.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((a) => ({
      name: a.name,
      active: a.active,
      latest: a.latest?.version ?? null,
      versions: a.versions,
      stages: a.stages,
      history: a.events
        .map(({ tag, time, commit, tagger, email, message, kind, version, stage }) => ({ tag, time, commit, tagger, email, message, kind, version, stage }))
        .reverse(),
    }))
  return { available: true, stages: state.stages, problems: state.problems, warnings: state.warnings, artifacts }
}
