/**
 * `xp model get`: write a model version's artifact to a path, from the data cache. The
 * artifact's path comes from `artifacts:` in the xp.yaml of the version's commit, its
 * content address from the pointer file beside it in that commit's tree.
 */
import path from 'node:path'
import type { Repo } from '../repo.js'
import { XpError } from '../errors.js'
import { materialize, type MaterializeOptions } from '../cache/materialize.js'
import { whichModel } from './describe.js'
import { isDvcOid } from '../dvc/data.js'

export interface GetResult {
  artifact: string
  version: string
  commit: string
  oid: string
  size: number
  /** where it was written, absolute */
  output: string
  /** files written (0 when the output was already that content) */
  written: number
}

/**
 * @example
 * await getModel(repo, { spec: 'churn@production', output: 'model.bin' })
 */
export async function getModel(
  repo: Repo,
  opts: { spec: string; output: string; force?: boolean; fetchMissing?: MaterializeOptions['fetchMissing'] },
): Promise<GetResult> {
  const w = await whichModel(repo, opts.spec)
  const at = w.commit.slice(0, 7)
  if (!w.path)
    throw new XpError('XP_ARTIFACT_NO_PATH', `"${w.artifact}" has no path under artifacts: in xp.yaml at commit ${at}`, {
      hint: `declare it there, e.g. artifacts: {${w.artifact}: {path: models/model.bin}}`,
    })
  if (!w.oid)
    throw new XpError('XP_ARTIFACT_NO_POINTER', `commit ${at} has no pointer file ${w.path}.xp, so ${w.artifact} ${w.version} has no data in the cache`, {
      hint: 'list the model under outs: in xp.yaml (runs then cache it), or `xp add` it before committing',
    })
  if (isDvcOid(w.oid))
    throw new XpError('XP_ARTIFACT_IN_DVC', `DVC tracks ${w.path} (${w.oid}); its bytes are in DVC's cache, not xp's`, {
      hint: `get it with DVC: \`dvc get . ${w.path} --rev ${at}\` or \`git checkout ${at} -- ${w.path}.dvc && dvc pull ${w.path}\``,
    })
  const output = path.resolve(repo.ctx.cwd, opts.output)
  const r = await materialize(repo, { oid: w.oid, size: w.size ?? 0 }, output, { force: opts.force, fetchMissing: opts.fetchMissing })
  return { artifact: w.artifact, version: w.version, commit: w.commit, oid: w.oid, size: w.size ?? 0, output, written: r.written }
}
