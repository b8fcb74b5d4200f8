/**
 * The registry page's data: artifacts with their versions, stages and history, from the
 * folded GTO tags (core/registry). Plain JSON for the page; nothing is written.
 *
 * What a stage shows comes from the one fold every command uses (`gtoShow`, the JSON of
 * `xp model ls --all` and of `gto show --deprecated`): one version per stage, never the
 * list of versions that still hold it.
 */
import type { Repo } from '../core/repo.js'
import { loadRegistry, addTagDetails } from '../core/registry/read.js'
import { gtoShow, type VersionState, type StageHolder, type RegistryEvent, type GtoShowEntry } from '../core/registry/fold.js'

export interface RegistryView {
  available: true
  /** every stage in use, sorted: the stage columns of `xp model ls` */
  stages: string[]
  problems: string[]
  warnings: string[]
  artifacts: Array<{
    name: string
    active: boolean
    latest: string | null
    /** what `xp model ls --json --all` says of this artifact */
    show: GtoShowEntry
    /** `shown`: the stages this version is the one shown in */
    versions: Array<VersionState & { author?: string; shown: string[] }>
    /** per stage: the versions holding it, the shown one first */
    stages: Record<string, StageHolder[]>
    /** newest first, as `xp model history` */
    history: Array<Pick<RegistryEvent, 'tag' | 'time' | 'commit' | 'tagger' | 'email' | 'message' | 'kind' | 'version' | 'stage'>>
  }>
}

/**
 * @example
 * const view = await registryView(repo) // view.artifacts[0].show.stage.production === 'v1.0.0'
 */
export async function registryView(repo: Pick<Repo, 'root' | 'ctx' | 'xpDir'>): Promise<RegistryView> {
  const { state, events } = await loadRegistry(repo)
  await addTagDetails(repo, events)
  const show = gtoShow(state, { deprecated: true })
  const artifacts = [...state.artifacts.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((a) => {
      const registration = new Map(a.events.filter((e) => e.kind === 'register').map((e) => [e.tag, e]))
      const shownAt = (v: VersionState) => Object.keys(a.stages).filter((s) => a.stages[s][0]?.version === v.version && a.stages[s][0]?.commit === v.commit)
      return {
        name: a.name,
        active: a.active,
        latest: a.latest?.version ?? null,
        show: show[a.name],
        versions: a.versions.map((v) => ({ ...v, author: v.tag ? registration.get(v.tag)?.tagger : undefined, shown: shownAt(v) })),
        stages: a.stages,
        history: [...a.events]
          .reverse()
          .map(({ tag, time, commit, tagger, email, message, kind, version, stage }) => ({ tag, time, commit, tagger, email, message, kind, version, stage })),
      }
    })
  return { available: true, stages: state.stages, problems: state.problems, warnings: state.warnings, artifacts }
}
