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
import { gtoShow, type VersionState } from '../core/registry/fold.js'
import type { RegistryView } from './registry-view.js'
export type { RegistryView } from './registry-view.js'

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
