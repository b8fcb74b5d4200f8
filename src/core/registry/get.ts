/**
 * `xp model get`: write a model version's artifact to a path, from the data cache. The
 * artifact's path comes from `artifacts:` in the xp.yaml of the version's commit, its
 * content address from the pointer file beside it in that commit's tree.
 */
import path from 'node:path'
import type { Repo } from '../repo.js'
import { XpError } from '../errors.js'
import { materialize, wantedEntries, type MaterializeOptions } from '../cache/materialize.js'
import { encodeManifest } from '../cache/manifest.js'
import { putBytes } from '../cache/objects.js'
import { git } from '../git.js'
import { listRuns } from '../runs/list.js'
import { ARTIFACTS_OUT } from '../runs/live-record.js'
import { checkRelPath } from '../safety/paths.js'
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
  if (!w.path && w.run) {
    const fromMlflow = await mlflowModel(repo, w.run.id, w.tag, opts.fetchMissing)
    if (fromMlflow) {
      const output = path.resolve(repo.ctx.cwd, opts.output)
      const r = await materialize(repo, fromMlflow, output, { force: opts.force, fetchMissing: opts.fetchMissing })
      return { artifact: w.artifact, version: w.version, commit: w.commit, oid: fromMlflow.oid, size: fromMlflow.size, output, written: r.written }
    }
  }
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

/**
 * A version registered through the MLflow API points at a folder of its run's artifacts
 * (`source: runs:/ID/model` in its tag message; MLflow's default `model` for older tags):
 * that folder as a manifest of its own, stored in the cache, or null when the run has none.
 */
async function mlflowModel(
  repo: Repo,
  runId: string,
  tag: string | null,
  fetchMissing: MaterializeOptions['fetchMissing'],
): Promise<{ oid: string; size: number } | null> {
  const run = (await listRuns(repo, { notes: false })).find((r) => r.id === runId)
  const artifacts = run?.outs[ARTIFACTS_OUT]
  if (!artifacts) return null
  let sub = 'model'
  if (tag) {
    const msg = (await git(['tag', '-l', '--format=%(contents)', tag], { cwd: repo.root, env: repo.ctx.env })).stdout
    const m = /^source: \S*?\/artifacts\/(\S+?)\/?$/m.exec(msg) ?? /^source: runs:\/[^/\s]+\/(\S+?)\/?$/m.exec(msg)
    if (m?.[1]) sub = checkRelPath(m[1], `the MLflow source of ${tag}`)
  }
  const entries = (await wantedEntries(repo.cacheDir, artifacts, fetchMissing))
    .filter((e) => e.path.startsWith(`${sub}/`))
    .map((e) => ({ ...e, path: e.path.slice(sub.length + 1) }))
  if (!entries.length) return null
  const oid = await putBytes(repo.cacheDir, encodeManifest(entries), { dir: true })
  return { oid, size: entries.reduce((n, e) => n + e.size, 0) }
}
