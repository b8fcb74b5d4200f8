/**
 * Where runs meet data versioning (DESIGN 2.3): deps hashed before the command, outs and
 * large untracked files cached after it and put in the run's tree as pointer files.
 * Until the cache lands these record nothing and large files are left out with a warning.
 */
import type { Repo, ProjectConfig } from '../repo.js'
import type { DataEntry } from './record.js'
import type { ExtraFile } from './snapshot.js'

export interface DataBefore {
  deps: Record<string, DataEntry>
}

export interface DataAfter {
  outs: Record<string, DataEntry>
  /** pointer files to put in the tree */
  extra: ExtraFile[]
  /** paths whose bytes stay out of git */
  exclude: string[]
  /** large untracked files that were cached instead of committed */
  cached: string[]
}

export async function dataBeforeRun(_repo: Repo, _config: ProjectConfig): Promise<DataBefore> {
  return { deps: {} }
}

export async function dataAfterRun(_repo: Repo, _config: ProjectConfig, _large: Array<{ path: string; size: number }>): Promise<DataAfter> {
  return { outs: {}, extra: [], exclude: [], cached: [] }
}
