/**
 * The registry page's data: artifacts with their versions, stages and history, from the
 * folded GTO tags (core/registry). Plain JSON for the page; nothing is written.
 */
import type { Repo } from '../core/repo.js'
import { loadRegistry, addTagDetails } from '../core/registry/read.js'
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
    versions: Array<VersionState & { author?: string }>
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
  const { state, events } = await loadRegistry(repo)
  await addTagDetails(repo, events)
  const byTag = new Map(events.map((e) => [e.tag, e]))
  const artifacts = [...state.artifacts.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((a) => ({
      name: a.name,
      active: a.active,
      latest: a.latest?.version ?? null,
      versions: a.versions.map((v) => ({ ...v, author: v.tag ? byTag.get(v.tag)?.tagger : undefined })),
      stages: a.stages,
      history: a.events
        .map(({ tag, time, commit, tagger, email, message, kind, version, stage }) => ({ tag, time, commit, tagger, email, message, kind, version, stage }))
        .reverse(),
    }))
  return { available: true, stages: state.stages, problems: state.problems, warnings: state.warnings, artifacts }
}
