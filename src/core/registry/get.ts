/**
 * `xp model get`: write a model version's artifact to a path. The bytes come from the
 * data cache, which lands with the data issue; until then this resolves the version and
 * its content address and stops with XP_NOT_IMPLEMENTED.
 */
import type { Repo } from '../repo.js'
import { XpError } from '../errors.js'
import { whichModel } from './describe.js'

export interface GetResult {
  artifact: string
  version: string
  commit: string
  oid: string
  output: string
}

export async function getModel(repo: Repo, opts: { spec: string; output: string }): Promise<GetResult> {
  const w = await whichModel(repo, opts.spec)
  if (!w.path) throw new XpError('XP_ARTIFACT_NO_PATH', `"${w.artifact}" has no path under artifacts: in xp.yaml at commit ${w.commit.slice(0, 7)}`, { hint: 'declare it: artifacts: {NAME: {path: models/model.bin}}' })
  if (!w.oid) throw new XpError('XP_ARTIFACT_NO_POINTER', `commit ${w.commit.slice(0, 7)} has no pointer file ${w.path}.xp`, { hint: 'list the model under outs: in xp.yaml so that runs cache it' })
  throw new XpError('XP_NOT_IMPLEMENTED', 'xp model get needs the data cache, which is not built yet', { hint: `the artifact is ${w.oid}; check it out with \`git show ${w.commit.slice(0, 7)}:${w.path}.xp\`` })
}
