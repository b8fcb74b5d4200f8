/** The registry page's data, in a module with no I/O: the browser code (src/ui/app) takes its type. */
import type { VersionState, StageHolder, RegistryEvent, GtoShowEntry } from '../core/registry/fold.js'

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
