/**
 * What a model version is: its commit, the run that made it (when the commit is a run),
 * and the artifact's content address from the pointer file in that commit's tree, the
 * artifact's path coming from `artifacts:` in the `xp.yaml` of that same commit.
 */
import { repoRelative } from '../safety/paths.js'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { CatFileBatch } from '../git.js'
import { parseStructured } from '../params.js'
import { listRuns } from '../runs/list.js'
import { decodePointer, pointerFileFor } from '../cache/pointer.js'
import { loadRegistry, addTagDetails } from './read.js'
import { findArtifact, parseModelSpec, resolveSpec } from './query.js'
import { validateArtifactName } from './tag.js'
import { dvcArtifact } from '../dvc/data.js'
import type { RunInfo } from './ops.js'

export interface ArtifactData {
  /** the artifact's path in the commit's tree (from xp.yaml), null when xp.yaml does not declare it */
  path: string | null
  oid: string | null
  size: number | null
  files?: number
}

export interface ModelVersionInfo extends ArtifactData {
  artifact: string
  version: string
  commit: string
  stage: string | null
  registered: boolean
  run: RunInfo | null
  tag: string | null
  author: string | null
  author_email: string | null
  created: string | null
}

/**
 * Describe `NAME@(vX.Y.Z|latest|STAGE)`.
 *
 * @example
 * await whichModel(repo, 'churn@production') // { version: 'v1.0.0', commit: '…', run: { id, name }, oid: '…', … }
 */
export async function whichModel(repo: Pick<Repo, 'root' | 'ctx' | 'xpDir'>, spec: string): Promise<ModelVersionInfo> {
  const parsed = parseModelSpec(spec)
  const { state } = await loadRegistry(repo)
  for (const w of [...state.warnings, ...state.problems]) repo.ctx.warn(w)
  const { artifact, version, stage } = resolveSpec(state, parsed)
  const registration = artifact.events.filter((e) => e.tag === version.tag)
  await addTagDetails(repo, registration)
  const [runs, data] = await Promise.all([listRuns(repo, { notes: false }), artifactData(repo, version.commit, artifact.name)])
  const run = runs.find((r) => r.commit === version.commit)
  if (data.path && !data.oid && run?.outs[data.path]) Object.assign(data, run.outs[data.path])
  return {
    artifact: artifact.name,
    version: version.version,
    commit: version.commit,
    stage: stage ?? null,
    registered: version.registered,
    run: run ? { id: run.id, name: run.name } : null,
    tag: version.tag ?? null,
    author: registration[0]?.tagger ?? null,
    author_email: registration[0]?.email ?? null,
    created: Number.isFinite(version.created) ? isoTime(version.created, registration[0]?.offset) : null,
    ...data,
  }
}

/**
 * Find the artifact's path and pointer in a commit. `dir:name` artifacts are declared in
 * `dir/xp.yaml` with paths relative to `dir` (as GTO finds them in `dir/dvc.yaml`).
 */
export async function artifactData(repo: Pick<Repo, 'root' | 'ctx'>, commit: string, artifact: string): Promise<ArtifactData> {
  const colon = artifact.indexOf(':')
  const dir = colon >= 0 ? artifact.slice(0, colon) : ''
  const name = colon >= 0 ? artifact.slice(colon + 1) : artifact
  const batch = new CatFileBatch({ cwd: repo.root, env: repo.ctx.env })
  try {
    const config = await batch.read(`${commit}:${path.posix.join(dir, 'xp.yaml')}`)
    const parsed =
      config?.type === 'blob'
        ? (parseStructured(config.content.toString('utf8'), 'xp.yaml') as { artifacts?: Record<string, { path?: unknown }> } | null)
        : null
    const rel = parsed?.artifacts?.[name]?.path
    if (typeof rel !== 'string') {
      // not in xp.yaml: DVC's dvc.yaml declares it (as GTO reads it), its .dvc file or dvc.lock versions it
      const blob = async (f: string) => ((o) => (o?.type === 'blob' ? o.content.toString('utf8') : null))(await batch.read(`${commit}:${f}`))
      const fromDvc = (await dvcArtifact(blob, dir, name)) ?? { path: null, oid: null, size: null }
      if (fromDvc.path) repoRelative(fromDvc.path, `${commit.slice(0, 7)}:${path.posix.join(dir, 'dvc.yaml')} artifacts.${name}.path`)
      return fromDvc
    }
    const file = path.posix.join(dir, repoRelative(rel, `${commit.slice(0, 7)}:${path.posix.join(dir, 'xp.yaml')} artifacts.${name}.path`))
    const pointer = await batch.read(`${commit}:${pointerFileFor(file)}`)
    if (pointer?.type !== 'blob') return { path: file, oid: null, size: null }
    const p = decodePointer(pointer.content.toString('utf8'), `${commit.slice(0, 7)}:${pointerFileFor(file)}`)
    return { path: file, oid: p.oid, size: p.size, ...(p.files !== undefined ? { files: p.files } : {}) }
  } finally {
    batch.close()
  }
}

export interface HistoryEntry {
  timestamp: string
  artifact: string
  event: 'registration' | 'deregistration' | 'assignment' | 'unassignment' | 'deprecation'
  version: string | null
  stage: string | null
  commit: string
  author: string
  author_email: string
  message: string
  tag: string
}

const EVENT_NAMES = {
  register: 'registration',
  deregister: 'deregistration',
  assign: 'assignment',
  unassign: 'unassignment',
  deprecate: 'deprecation',
} as const

/**
 * A tagger date as GTO writes it in JSON (Python's `isoformat()` of the date in the
 * tagger's own offset): seconds, no fraction, `+HH:MM`.
 *
 * @example
 * isoTime(1700000200, '+0000') // '2023-11-14T22:16:40+00:00'
 * isoTime(1700000200, '-0530') // '2023-11-14T16:46:40-05:30'
 */
export function isoTime(time: number, offset = '+0000'): string {
  const m = /^([+-])(\d\d)(\d\d)$/.exec(offset) ?? ['+0000', '+', '00', '00']
  const shift = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60)
  return new Date((time + shift) * 1000).toISOString().slice(0, 19) + `${m[1]}${m[2]}:${m[3]}`
}

/**
 * An artifact's events, newest first (as `gto history` and `git log`), or oldest first,
 * in GTO's order within a second.
 *
 * @example
 * await modelHistory(repo, 'churn') // [{ event: 'assignment', stage: 'production', version: 'v1.0.0', … }, …]
 */
export async function modelHistory(repo: Pick<Repo, 'root' | 'ctx' | 'xpDir'>, name: string, opts: { ascending?: boolean } = {}): Promise<HistoryEntry[]> {
  const { state } = await loadRegistry(repo)
  for (const w of [...state.warnings, ...state.problems]) repo.ctx.warn(w)
  const a = findArtifact(state, validateArtifactName(name))
  await addTagDetails(repo, a.events)
  const out = a.events.map((e) => ({
    timestamp: isoTime(e.time, e.offset),
    artifact: e.artifact,
    event: EVENT_NAMES[e.kind],
    version: e.version ?? null,
    stage: e.stage ?? null,
    commit: e.commit,
    author: e.tagger,
    author_email: e.email,
    message: e.message,
    tag: e.tag,
  }))
  return opts.ascending ? out : out.reverse()
}
